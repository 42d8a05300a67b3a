"""Pure rules: how provider answers are classified, Retry-After, backoff, local pacing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from notify.pacing import Limits, LocalPacer
from notify.providers import classify, parse_retry_after
from notify.sender import Backoff


def body(value: object) -> bytes:
    return json.dumps(value).encode()


@pytest.mark.parametrize(
    ("provider", "status", "raw", "outcome"),
    [
        ("meta", 200, body({"messages": [{"id": "wamid.1"}]}), "sent"),
        ("gupshup", 202, body({"status": "submitted", "messageId": "g-1"}), "sent"),
        ("zapi", 200, body({"zaapId": "z", "messageId": "m", "id": "m"}), "sent"),
        ("meta", 200, b"<html>", "retry"),
        ("meta", 500, b"", "retry"),
        ("meta", 429, body({"error": {"code": 130429, "message": "Rate limit hit"}}), "retry"),
        ("meta", 400, body({"error": {"code": 131056, "message": "pair rate limit"}}), "retry"),
        ("meta", 401, body({"error": {"code": 190, "message": "Invalid OAuth access token."}}), "failed"),
        ("gupshup", 400, body({"status": "error", "message": "Invalid Destination"}), "failed"),
        ("zapi", 400, body({"error": "null not allowed"}), "failed"),
        ("meta", 301, b"", "retry"),
    ],
)
def test_classify(provider, status, raw, outcome):
    assert classify(provider, status, {}, raw).outcome == outcome


def test_window_error_is_a_visible_failure():
    result = classify("meta", 400, {}, body({"error": {"code": 131047, "message": "Re-engagement message"}}))
    assert result.outcome == "failed" and result.error.startswith("outside_24h_window")


def test_retry_after_seconds_and_http_date():
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_retry_after("7") == 7
    assert parse_retry_after(format_datetime(now + timedelta(seconds=30), usegmt=True), now) == 30
    assert parse_retry_after("soon") is None


def test_backoff_is_capped_full_jitter_with_retry_after_floor():
    backoff = Backoff(base=1, cap=300)
    assert all(0 <= backoff.delay(20, None) <= 300 for _ in range(100))
    assert all(backoff.delay(1, 12.0) >= 12 for _ in range(100))


async def test_local_pacer_bursts_then_waits():
    pacer = LocalPacer(Limits(number_per_second=80, recipient_burst=3, recipient_interval=6))
    assert [await pacer.take("n", "r") for _ in range(3)] == [0, 0, 0]
    assert 5 < await pacer.take("n", "r") <= 6
    assert await pacer.take("n", "someone-else") == 0


async def test_local_pacer_number_limit():
    pacer = LocalPacer(Limits(number_per_second=5, recipient_burst=100, recipient_interval=0))
    waits = [await pacer.take("n", f"r{i}") for i in range(6)]
    assert waits[:5] == [0] * 5 and waits[5] > 0
