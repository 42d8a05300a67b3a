"""CPU seconds used by each part of the stack during a phase, read from /proc (Linux).

A snapshot sums user+system time per component, counting only the processes of this run (other
stacks on the machine are left out): the five services (by their `python -m NAME` command line),
Postgres (the run's own cluster, plus what its postmaster collected from backends that already
exited; not measured when DATABASE_URL points elsewhere) and the load generator (reaped children).
The difference of two snapshots divided by the requests served is the CPU each component spends
per webhook: where the machine's two cores go.
"""

from __future__ import annotations

import os
import resource
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")
SERVICES = ("gateway", "tenant", "conversation", "ai", "notify")


def _component(cmdline: list[str]) -> str | None:
    if "-m" in cmdline[:-1]:
        module = cmdline[cmdline.index("-m") + 1]
        if module in SERVICES:
            return module
    if cmdline and (Path(cmdline[0]).name == "postgres" or cmdline[0].startswith("postgres:")):
        return "postgres"
    return None


def _processes() -> dict[int, tuple[int, list[str], list[str]]]:
    """pid -> (parent pid, command line, /proc/pid/stat fields after the command name)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = [p.decode(errors="replace") for p in (entry / "cmdline").read_bytes().split(b"\0") if p]
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[int(entry.name)] = (int(fields[1]), cmdline, fields)
    return found


def snapshot(roots: list[int]) -> dict[str, float]:
    """CPU seconds so far of the services and Postgres processes descending from `roots` (the stack's
    supervisor and the postmaster), plus this process's reaped children (the load generator)."""
    processes = _processes()

    def ours(pid: int) -> bool:
        while pid > 1:
            if pid in roots:
                return True
            pid = processes[pid][0] if pid in processes else 0
        return False

    totals: dict[str, float] = {}
    for pid, (_, cmdline, fields) in processes.items():
        name = _component(cmdline)
        if name is None or not ours(pid):
            continue
        utime, stime, cutime, cstime = (int(fields[i]) for i in (11, 12, 13, 14))
        # The postmaster's children's time: backends that already exited.
        children = cutime + cstime if pid in roots and name == "postgres" else 0
        totals[name] = totals.get(name, 0.0) + (utime + stime + children) / TICK
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    totals["loadgen"] = usage.ru_utime + usage.ru_stime
    return totals


def postmaster(data_dir: Path) -> int | None:
    """The pid of the cluster running in `data_dir`, if any."""
    try:
        return int((data_dir / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


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
