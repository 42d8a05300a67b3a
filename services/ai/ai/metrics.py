"""The ai service's Prometheus metrics (the OpenAI latency alert in deploy/prometheus reads these)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from ai.breaker import CircuitBreaker, State

OPENAI_SECONDS = Histogram(
    "vellarys_openai_request_duration_seconds",
    "One chat-completions HTTP attempt, by result (ok, error, timeout)",
    ["result"],
    buckets=(0.25, 0.5, 1.0, 2.0, 4.0, 6.0, 8.0, 10.0, 15.0, 30.0),
)
REPLIES = Counter("vellarys_ai_replies_total", "GenerateReply answers by outcome", ["outcome"])
BREAKER_OPEN = Gauge("vellarys_ai_breaker_open", "1 while the model's circuit breaker is open or half-open")
BREAKER_STATES = {State.CLOSED: 0.0, State.HALF_OPEN: 1.0, State.OPEN: 1.0}


def watch_breaker(breaker: CircuitBreaker) -> None:
    BREAKER_OPEN.set_function(lambda: BREAKER_STATES[breaker.state])
