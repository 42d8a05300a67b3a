"""The notify service's Prometheus metrics (module-level, registered once per process)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

DELIVERIES = Counter(
    "vellarys_deliveries_total",
    "Outbound WhatsApp send attempts by provider and outcome (sent, retry, failed, dead)",
    ["provider", "outcome"],
)
DELIVERY_SECONDS = Histogram(
    "vellarys_delivery_seconds",
    "Duration of one send attempt to a provider",
    ["provider"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0),
)
PACED = Counter(
    "vellarys_deliveries_paced_total", "Deliveries rescheduled to respect provider rate limits", ["provider"]
)
PUSHES = Counter("vellarys_push_notifications_total", "Web push sends by outcome", ["outcome"])
