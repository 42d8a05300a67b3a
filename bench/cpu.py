"""CPU seconds used by each part of the stack during a phase, read from /proc (Linux).

A snapshot sums user+system time per component: the five services (by their `python -m NAME`
command line), Postgres (every postgres process, plus what the postmaster collected from backends
that already exited) and the load generator. The difference of two snapshots divided by the
requests served is the CPU each component spends per webhook: where the machine's two cores go.
"""

from __future__ import annotations

import os
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")
SERVICES = ("gateway", "tenant", "conversation", "ai", "notify")


def _component(cmdline: list[str]) -> str | None:
    if not cmdline:
        return None
    if "-m" in cmdline:
        module = cmdline[cmdline.index("-m") + 1] if cmdline.index("-m") + 1 < len(cmdline) else ""
        if module in SERVICES:
            return module
    if any(part.endswith("loadgen.py") for part in cmdline):
        return "loadgen"
    if Path(cmdline[0]).name == "postgres" or cmdline[0].startswith("postgres:"):
        return "postgres"
    return None


def snapshot() -> dict[str, float]:
    totals: dict[str, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = _component([part.decode(errors="replace") for part in cmdline if part])
        if name is None:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        utime, stime, cutime, cstime = (int(fields[i]) for i in (11, 12, 13, 14))
        # Children's time only for the postmaster (exited backends); services reap nothing of ours.
        children = cutime + cstime if _is_postmaster(cmdline) else 0
        totals[name] = totals.get(name, 0.0) + (utime + stime + children) / TICK
    return totals


def _is_postmaster(cmdline: list[bytes]) -> bool:
    return bool(cmdline) and Path(cmdline[0].decode(errors="replace")).name == "postgres" and b"-D" in cmdline


def per_request(before: dict[str, float], after: dict[str, float], requests: int) -> dict[str, float]:
    """CPU milliseconds per request for each component (and `total`)."""
    if requests <= 0:
        return {}
    used = {name: after.get(name, 0.0) - before.get(name, 0.0) for name in after}
    result = {name: round(seconds * 1000 / requests, 3) for name, seconds in sorted(used.items())}
    result["total"] = round(sum(used.values()) * 1000 / requests, 3)
    return result


def line(figures: dict[str, float]) -> str:
    return "  ".join(f"{name} {ms:.2f}" for name, ms in figures.items())
