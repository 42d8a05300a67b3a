"""Request-scoped values (tenant, actor, request id) that travel as gRPC metadata.

One client interceptor writes them, one server interceptor reads them into these ContextVars:
business code reads the ContextVars and never parses metadata.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

TENANT_KEY = "x-vellarys-tenant"
ACTOR_KEY = "x-vellarys-actor"
ROLE_KEY = "x-vellarys-role"
REQUEST_ID_KEY = "x-request-id"


@dataclass(frozen=True, slots=True)
class CallContext:
    tenant_id: str = ""
    actor_id: str = ""
    role: str = ""
    request_id: str = ""

    def metadata(self) -> tuple[tuple[str, str], ...]:
        pairs = (
            (TENANT_KEY, self.tenant_id),
            (ACTOR_KEY, self.actor_id),
            (ROLE_KEY, self.role),
            (REQUEST_ID_KEY, self.request_id),
        )
        return tuple((k, v) for k, v in pairs if v)

    @classmethod
    def from_metadata(cls, metadata: object) -> CallContext:
        values: dict[str, str] = {}
        for key, value in metadata or ():  # type: ignore[attr-defined]
            if isinstance(value, bytes):
                continue
            values[key] = value
        return cls(
            tenant_id=values.get(TENANT_KEY, ""),
            actor_id=values.get(ACTOR_KEY, ""),
            role=values.get(ROLE_KEY, ""),
            request_id=values.get(REQUEST_ID_KEY, ""),
        )


# CallContext is frozen: sharing one default instance is safe.
current: ContextVar[CallContext] = ContextVar(
    "vellarys_call_context",
    default=CallContext(),  # noqa: B039
)


def get() -> CallContext:
    return current.get()
