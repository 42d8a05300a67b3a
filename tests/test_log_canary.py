"""Log canary: a phone, a text and secrets go through the whole reply path and appear in no log line.

In-process: every service's code (gateway, tenant, conversation with its reply worker, ai on its
model path against a fake OpenAI, notify's sender against a fake provider) runs in this process,
so one capture of the root logger, configured exactly as ``kit.logs.configure`` configures a
service at DEBUG, sees every line any of them writes. The `service` field is then this process's
name rather than each service's own; that field is checked for presence and shape.
"""

from __future__ import annotations

import json
import logging
import random
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from opentelemetry import trace

sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/ is not a package (importlib mode)

from fullstack import Stack, full_stack

from kit import logs
from kit.testing import TEST_SECRET_KEY

LEVELS = {"debug", "info", "warning", "error", "critical"}


class Capture(logging.Handler):
    """Formats with the service's real handler formatter and notes whether a span was current."""

    def __init__(self, formatter: logging.Formatter) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(formatter)
        self.lines: list[tuple[str, bool]] = []

    def emit(self, record: logging.LogRecord) -> None:
        in_span = trace.get_current_span().get_span_context().is_valid
        self.lines.append((self.format(record), in_span))


@pytest.fixture
def captured() -> Iterator[Capture]:
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    noisy = {
        name: logging.getLogger(name).level for name in ("uvicorn.access", "httpx", "httpcore", "openai")
    }
    logs.configure("vellarys-canary", "DEBUG", "json")  # what every service's __main__ does
    handler = Capture(root.handlers[0].formatter)  # type: ignore[arg-type]
    root.handlers[:] = [handler, *saved_handlers]
    try:
        yield handler
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        for name, level in noisy.items():
            logging.getLogger(name).setLevel(level)


@pytest.fixture(scope="module")
async def stack(migrated, database_url) -> AsyncIterator[Stack]:
    async with full_stack(migrated, database_url) as running:
        yield running


def canary_phone() -> tuple[str, str]:
    """(digits as the provider sends them, the masked form logs may show)."""
    middle = f"{random.randint(0, 9999):04d}"
    return f"55419{middle}1234", "***1234"


async def test_no_canary_in_any_log_line(stack: Stack, captured: Capture, spans) -> None:
    digits, _masked = canary_phone()
    canary_text = f"CANARYTEXT{uuid.uuid4().hex[:12]}"
    secret_token = f"canarysecret{uuid.uuid4().hex[:16]}"
    client_token = f"canaryclient{uuid.uuid4().hex[:16]}"
    tenant_id, path = await stack.new_tenant(secrets={"token": secret_token, "client_token": client_token})
    admin = await stack.user(tenant_id, "admin")
    webhook_token = path.rsplit("/", 1)[1]

    response = await stack.webhook(path, digits, f"Oi, {canary_text}, meu telefone é +{digits}")
    assert response.status_code == 200, response.text
    lead_id = await stack.lead_id(tenant_id, digits)
    assert await stack.drain() >= 1  # other modules share the database: their due jobs run too
    sent = stack.providers.received("zapi")
    assert sent and secret_token in sent[-1].path and sent[-1].json()["phone"].endswith("1234")
    diagnosis = await stack.http.get(f"/api/v1/leads/{lead_id}/diagnosis", headers=admin)
    assert diagnosis.json()["verdict"] == "ok", diagnosis.text
    # A wrong token: the rejection path logs too.
    wrong = await stack.http.post(
        path[:-4] + "xxxx", content=b"{}", headers={"content-type": "application/json"}
    )
    assert wrong.status_code == 401

    lines = [line for line, _ in captured.lines]
    assert len(lines) > 5, "the capture saw nothing: is logging configured?"
    canaries = {
        "phone": digits,
        "phone (last 8 digits)": digits[-8:],
        "phone (formatted)": f"+55 41 9{digits[5:9]}-1234",
        "text": canary_text,
        "webhook token": webhook_token,
        "provider token": secret_token,
        "provider client token": client_token,
        "SECRET_KEY": TEST_SECRET_KEY,
        "OpenAI key": "sk-test-not-real",
        "bearer token": admin["Authorization"].split()[1],
    }
    leaks = {name: line for line in lines for name, value in canaries.items() if value in line}
    assert leaks == {}, f"secrets or personal data in logs: {leaks}"

    with_span = 0
    for line, in_span in captured.lines:
        entry = json.loads(line)
        assert entry["service"] == "vellarys-canary" and entry["level"] in LEVELS and entry["ts"], entry
        assert ("trace_id" in entry) == in_span and ("span_id" in entry) == in_span, entry
        if in_span:
            assert len(entry["trace_id"]) == 32 and len(entry["span_id"]) == 16
            with_span += 1
    assert with_span > 0, "no line was written inside a span"
