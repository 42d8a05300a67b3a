"""The reply-path figures: from the load generator's acks and the fake provider's records.

Per lead (one message from a new phone each): provider-received time minus webhook-ack time, minus
the debounce window, both wall-clock times on this machine. Lost = acked but no send to that phone
before the wait ran out; duplicated = sends beyond the first to the same phone. The latency figures
are of the measured window; the warm-up's leads before it count for lost and duplicated too, and
their latency (a cold stack's) is printed apart.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from typing import Any

import httpx

TARGET_P50_MS = 30.0
TARGET_P99_MS = 150.0


def digits(phone: str) -> str:
    return re.sub(r"\D", "", phone)


def records(base_url: str) -> list[tuple[str, float]]:
    rows = httpx.get(f"{base_url}/records", timeout=10).json()["records"]
    return [(digits(r[0]), float(r[1])) for r in rows]


def wait_for_replies(base_url: str, phones: set[str], timeout: float, settle: float = 3.0) -> None:
    """Until every acked phone has a send (or `timeout`), then `settle` more for late duplicates."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if phones <= {p for p, _ in records(base_url)}:
            break
        time.sleep(0.5)
    time.sleep(settle)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def figures(
    acks: list[tuple[str, float]],
    sent: list[tuple[str, float]],
    debounce: float,
    warmup: list[tuple[str, float]] | None = None,
) -> dict[str, Any]:
    """Latency of the measured leads (`acks`); lost and duplicated over every lead of the run, the
    warm-up's (`warmup`: sent before the measured window, at the same rate) included."""
    first: dict[str, float] = {}
    for phone, at in sorted(sent, key=lambda r: r[1]):
        first.setdefault(phone, at)
    counts = Counter(phone for phone, _ in sent)

    def beyond(acked: dict[str, float]) -> list[float]:
        return [(first[p] - at - debounce) * 1000 for p, at in acked.items() if p in first]

    def timeline(acked: dict[str, float]) -> list[list[float]]:
        """[second since the first ack, leads, p50, max] per second: when the slow ones were."""
        start = min(acked.values(), default=0.0)
        by_second: dict[int, list[float]] = {}
        for p, at in acked.items():
            if p in first:
                by_second.setdefault(int(at - start), []).append((first[p] - at - debounce) * 1000)
        return [
            [second, len(v), round(percentile(v, 0.5), 1), round(max(v), 1)]
            for second, v in sorted(by_second.items())
        ]

    measured = {digits(phone): at for phone, at in acks}
    warm = {digits(phone): at for phone, at in warmup or []}
    every = warm | measured
    latencies = beyond(measured)
    p50, p95, p99 = (percentile(latencies, q) for q in (0.50, 0.95, 0.99))
    cold = beyond(warm)
    lost = sum(1 for p in every if p not in first)
    duplicated = sum(n - 1 for p, n in counts.items() if p in every and n > 1)
    return {
        "leads_acked": len(measured),
        "replies": sum(1 for p in measured if p in first),
        "debounce_s": debounce,
        "p50_ms_beyond_debounce": p50,
        "p95_ms_beyond_debounce": p95,
        "p99_ms_beyond_debounce": p99,
        "max_ms_beyond_debounce": max(latencies, default=float("nan")),
        "per_second": timeline(warm | measured),
        "warmup_leads": len(warm),
        "warmup_p50_ms": percentile(cold, 0.50),
        "warmup_p99_ms": percentile(cold, 0.99),
        "lost": lost,
        "duplicated": duplicated,
        "unexpected_sends": sum(n for p, n in counts.items() if p not in every),
        "targets": {"p50_ms": TARGET_P50_MS, "p99_ms": TARGET_P99_MS, "lost": 0, "duplicated": 0},
        "met": p50 <= TARGET_P50_MS and p99 <= TARGET_P99_MS and lost == 0 and duplicated == 0,
    }


def lines(f: dict[str, Any]) -> list[str]:
    def ok(good: bool) -> str:
        return "ok" if good else "MISSED"

    return [
        f"reply      {f['leads_acked']} leads acked, {f['replies']} replied; beyond the "
        f"{f['debounce_s']:.1f} s debounce window:",
        f"reply      p50 {f['p50_ms_beyond_debounce']:7.1f} ms  (target ≤ {TARGET_P50_MS:.0f} ms: "
        f"{ok(f['p50_ms_beyond_debounce'] <= TARGET_P50_MS)})",
        f"reply      p95 {f['p95_ms_beyond_debounce']:7.1f} ms",
        f"reply      p99 {f['p99_ms_beyond_debounce']:7.1f} ms  (target ≤ {TARGET_P99_MS:.0f} ms: "
        f"{ok(f['p99_ms_beyond_debounce'] <= TARGET_P99_MS)})   max {f['max_ms_beyond_debounce']:.1f} ms",
        f"reply      lost {f['lost']} (target 0: {ok(f['lost'] == 0)})  duplicated {f['duplicated']} "
        f"(target 0: {ok(f['duplicated'] == 0)})  sends to unknown phones {f['unexpected_sends']}"
        + (" (warm-up leads included)" if f["warmup_leads"] else ""),
    ] + (
        [
            f"reply      warm-up, cold stack ({f['warmup_leads']} leads, not in the figures above): "
            f"p50 {f['warmup_p50_ms']:.1f} ms  p99 {f['warmup_p99_ms']:.1f} ms"
        ]
        if f["warmup_leads"]
        else []
    )
