"""Sentry error reporting, on only when ``SENTRY_DSN`` is set; unset, nothing is ever sent.

Events carry no request bodies, no local variables and no personal data; their messages pass
through the same redaction as our logs (phone numbers masked, secrets removed).
"""

from __future__ import annotations

import logging
from typing import Any

from kit.logs import redact

log = logging.getLogger(__name__)


def _scrub(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    for entry in event.get("exception", {}).get("values", []):
        if isinstance(entry.get("value"), str):
            entry["value"] = redact(entry["value"])
        for frame in (entry.get("stacktrace") or {}).get("frames", []):
            frame.pop("vars", None)
    logentry = event.get("logentry") or {}
    for key in ("message", "formatted"):
        if isinstance(logentry.get(key), str):
            logentry[key] = redact(logentry[key])
    logentry.pop("params", None)
    event.pop("request", None)
    event.pop("breadcrumbs", None)
    return event


def configure(service: str, dsn: str | None, environment: str) -> bool:
    """Start reporting; False (and no client at all) without a DSN."""
    if not dsn:
        return False
    import sentry_sdk

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        server_name=f"vellarys-{service}",
        send_default_pii=False,
        include_local_variables=False,
        max_request_body_size="never",
        traces_sample_rate=0.0,  # traces go to OpenTelemetry
        before_send=_scrub,  # type: ignore[arg-type]
        default_integrations=True,
    )
    sentry_sdk.set_tag("service", service)
    log.info("error reporting to Sentry enabled")
    return True
