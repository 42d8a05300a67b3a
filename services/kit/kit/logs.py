"""JSON log lines with service, trace and tenant ids; phone numbers masked, secrets never written."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from typing import Any

from opentelemetry import trace

from kit import context as callctx

# Runs of 8+ digits (optionally with +, spaces, dashes) look like phone numbers: keep the last four.
_PHONE = re.compile(r"\+?\d[\d\s\-()]{6,}\d")
_SECRETISH = re.compile(
    r"(?i)(\b(?:password|secret|token|api[_-]?key|authorization|client[_-]?token)\b\s*[=:]\s*)(\S+)"
)
_BEARER = re.compile(r"(?i)bearer\s+[a-z0-9._\-]+")


def mask_phone(value: str) -> str:
    digits = re.sub(r"\D", "", value)
    return f"***{digits[-4:]}" if len(digits) >= 4 else "***"


def redact(text: str) -> str:
    text = _BEARER.sub("Bearer ***", text)
    text = _SECRETISH.sub(lambda m: f"{m.group(1)}***", text)
    return _PHONE.sub(lambda m: mask_phone(m.group(0)), text)


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            entry["trace_id"] = f"{span.trace_id:032x}"
            entry["span_id"] = f"{span.span_id:016x}"
        ctx = callctx.get()
        if ctx.tenant_id:
            entry["tenant_id"] = ctx.tenant_id
        if ctx.request_id:
            entry["request_id"] = ctx.request_id
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        record.msg = redact(record.getMessage())
        record.args = None
        return super().format(record)


def configure(service: str, level: str = "INFO", fmt: str = "json") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter(service))
    else:
        handler.setFormatter(TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Access logs carry full URLs (tokens in webhook paths): the gateway logs requests itself.
    for noisy in ("uvicorn.access", "httpx", "httpcore", "httpx2", "httpcore2"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
