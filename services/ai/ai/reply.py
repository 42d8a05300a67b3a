"""What GenerateReply takes and gives, in plain Python (server.py maps it to protobuf)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

from ai import offline
from ai.extract import Fact
from ai.offline import Turn


class Outcome(StrEnum):
    OK = "ok"
    FALLBACK = "fallback"
    ERROR = "error"
    BREAKER_OPEN = "breaker_open"
    OFFLINE = "offline"


@dataclass(frozen=True)
class ReplyInput:
    tenant_id: str
    lead_id: str
    lead_name: str
    history: Sequence[Turn]
    profile: Sequence[Fact] = ()
    window_expires_at: datetime | None = None
    job_id: str = ""
    attempt: int = 0

    def window_open(self, now: datetime | None = None) -> bool:
        return self.window_expires_at is None or self.window_expires_at > (now or datetime.now(UTC))


@dataclass(frozen=True)
class ToolRecord:
    name: str
    arguments_json: str
    result_summary: str


@dataclass(frozen=True)
class Generated:
    text: str
    profile: list[Fact]
    score: int
    score_reasons: list[str]
    outcome: Outcome
    model: str
    handoff: bool = False
    handoff_reason: str = ""
    tool_calls: list[ToolRecord] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: int = 0
    retry_later: bool = False
    opt_out: bool = False
    opt_in: bool = False


def from_offline(base: offline.Reply) -> Generated:
    """The built-in responder's answer as a reply (outcome offline)."""
    return Generated(
        base.text,
        base.profile,
        base.score,
        base.score_reasons,
        Outcome.OFFLINE,
        offline.MODEL,
        handoff=base.handoff,
        handoff_reason=base.handoff_reason,
    )


class Responder(Protocol):
    """Answers a conversation: the model (ai.responder) or the built-in rules (ai.offline_path)."""

    async def respond(self, request: ReplyInput) -> Generated: ...
