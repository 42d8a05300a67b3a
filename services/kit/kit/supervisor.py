"""A small asyncio process supervisor for local development (stdlib only).

``await Supervisor([ProcessSpec("api", ["python", "-m", "api"])]).run()`` starts every process,
prefixes each stdout/stderr line with ``name | `` (padded, coloured on a TTY), restarts processes
that exit unexpectedly with exponential backoff, and on SIGINT/SIGTERM or ``stop()`` shuts all of
them down gracefully: SIGTERM, up to ``grace`` seconds, then SIGKILL. A second SIGINT/SIGTERM/
``stop()`` during shutdown skips the rest of the grace period.

Each child runs in its own session (so its own process group): a Ctrl-C on the terminal reaches only
the supervisor, which forwards SIGTERM itself, instead of hitting the children twice and racing the
graceful shutdown. Signals go to the whole group, so wrapper scripts take their children along.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TextIO

INITIAL_BACKOFF = 0.5
BACKOFF_RESET_AFTER = 30.0  # seconds of uptime after which a crash counts as a fresh one
_PIPE_DRAIN_TIMEOUT = 1.0
_MAX_LINE = 64 * 1024
_COLOURS = (36, 33, 32, 35, 34, 91, 92, 93, 94, 95, 96)


@dataclass
class ProcessSpec:
    """One supervised command. ``env`` is merged over the supervisor's own environment."""

    name: str
    argv: list[str]
    env: dict[str, str] | None = None
    cwd: str | None = None


class Supervisor:
    """Run, prefix the output of, restart and finally stop a set of processes (one run each)."""

    def __init__(
        self,
        specs: Sequence[ProcessSpec],
        *,
        restart: bool = True,
        max_backoff: float = 10.0,
        grace: float = 15.0,
        out: TextIO = sys.stdout,
    ) -> None:
        names = [spec.name for spec in specs]
        if len(set(names)) != len(names):
            raise ValueError(f"process names must be unique: {names}")
        self.specs = list(specs)
        self.restart = restart
        self.max_backoff = max_backoff
        self.grace = grace
        self.out = out
        self.restarts: dict[str, int] = dict.fromkeys(names, 0)
        self.returncodes: dict[str, int | None] = dict.fromkeys(names)
        self.pids: dict[str, int] = {}
        self._stopping = asyncio.Event()
        self._force = asyncio.Event()
        self._prefixes = self._make_prefixes(names)

    def stop(self) -> None:
        """Begin a graceful shutdown; called again, SIGKILL whatever is still running."""
        if self._stopping.is_set():
            self._force.set()
        self._stopping.set()

    async def run(self) -> None:
        """Supervise until stopped (or, with restart=False, until every process has exited)."""
        restore = self._install_signal_handlers(asyncio.get_running_loop())
        try:
            await asyncio.gather(*(self._supervise(spec) for spec in self.specs))
        finally:
            restore()

    # -- per-process loop -----------------------------------------------------------------------

    async def _supervise(self, spec: ProcessSpec) -> None:
        loop = asyncio.get_running_loop()
        backoff = INITIAL_BACKOFF
        while not self._stopping.is_set():
            started = loop.time()
            returncode = await self._run_once(spec)
            if self._stopping.is_set():
                return
            if not self.restart:
                self._note(spec.name, f"exited with {_describe(returncode)}")
                return
            if loop.time() - started >= BACKOFF_RESET_AFTER:
                backoff = INITIAL_BACKOFF
            delay = min(backoff, self.max_backoff)
            self.restarts[spec.name] += 1
            self._note(
                spec.name,
                f"exited with {_describe(returncode)}; restart #{self.restarts[spec.name]} in {delay:g}s",
            )
            if await _wait_event(self._stopping, delay):
                return
            backoff = min(backoff * 2, self.max_backoff)

    async def _run_once(self, spec: ProcessSpec) -> int | None:
        """Run spec until it exits or we stop; None if it could not even be started."""
        try:
            proc = await asyncio.create_subprocess_exec(
                *spec.argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **(spec.env or {})},
                cwd=spec.cwd,
                start_new_session=True,
            )
        except OSError as exc:
            self._note(spec.name, f"failed to start {spec.argv[0]!r}: {exc}")
            return None
        self.pids[spec.name] = proc.pid
        assert proc.stdout is not None and proc.stderr is not None
        pumps = [
            asyncio.create_task(self._pump(spec.name, proc.stdout)),
            asyncio.create_task(self._pump(spec.name, proc.stderr)),
        ]
        try:
            await _first_of(proc.wait(), self._stopping.wait())
        finally:
            # Also reached when run() is cancelled: never leave a child behind.
            if proc.returncode is None:
                await self._terminate(spec.name, proc)
            _signal_group(proc, signal.SIGKILL)  # leftovers of a wrapper that already exited
            await _drain(pumps)
        self.returncodes[spec.name] = proc.returncode
        if self._stopping.is_set():
            self._note(spec.name, f"stopped ({_describe(proc.returncode)})")
        return proc.returncode

    async def _terminate(self, name: str, proc: asyncio.subprocess.Process) -> None:
        self._note(name, "stopping (SIGTERM)")
        _signal_group(proc, signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.grace):
                await _first_of(proc.wait(), self._force.wait())
        if proc.returncode is None:
            self._note(name, f"still running after SIGTERM ({self.grace:g}s grace); SIGKILL")
            _signal_group(proc, signal.SIGKILL)
        await proc.wait()

    # -- output -------------------------------------------------------------------------------

    async def _pump(self, name: str, stream: asyncio.StreamReader) -> None:
        pending = b""
        while chunk := await stream.read(_MAX_LINE):
            *lines, pending = (pending + chunk).split(b"\n")
            for line in lines:
                self._emit(name, line)
            if len(pending) >= _MAX_LINE:  # a huge line without newline: flush it in pieces
                self._emit(name, pending)
                pending = b""
        if pending:
            self._emit(name, pending)

    def _emit(self, name: str, raw: bytes) -> None:
        text = raw.rstrip(b"\r").decode(errors="replace")
        self._write(f"{self._prefixes[name]}{text}\n")

    def _note(self, name: str, message: str) -> None:
        self._write(f"{self._prefixes[name]}[supervisor] {message}\n")

    def _write(self, text: str) -> None:
        # One write plus flush per line keeps lines whole and visible immediately.
        self.out.write(text)
        self.out.flush()

    def _make_prefixes(self, names: list[str]) -> dict[str, str]:
        width = max((len(name) for name in names), default=0)
        colour = _isatty(self.out)
        prefixes = {}
        for name, code in zip(names, itertools.cycle(_COLOURS)):
            padded = name.ljust(width)
            prefixes[name] = f"\x1b[{code}m{padded} |\x1b[0m " if colour else f"{padded} | "
        return prefixes

    # -- signals ------------------------------------------------------------------------------

    def _install_signal_handlers(self, loop: asyncio.AbstractEventLoop) -> Callable[[], None]:
        installed: list[tuple[signal.Signals, object]] = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous = signal.getsignal(sig)
            try:
                loop.add_signal_handler(sig, self.stop)
            except (ValueError, RuntimeError, NotImplementedError):
                continue  # not the main thread: the caller has to call stop() itself
            installed.append((sig, previous))

        def restore() -> None:
            for sig, previous in installed:
                loop.remove_signal_handler(sig)
                if callable(previous) or isinstance(previous, int):
                    signal.signal(sig, previous)

        return restore


async def _first_of(*aws: Awaitable[object]) -> None:
    """Wait until any of aws finishes; cancel the others."""
    tasks = {asyncio.ensure_future(aw) for aw in aws}
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()


async def _wait_event(event: asyncio.Event, seconds: float) -> bool:
    """True if event got set within seconds."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()
    return event.is_set()


async def _drain(pumps: list[asyncio.Task[None]]) -> None:
    # A detached grandchild may hold the pipes open forever: don't wait for it.
    _, pending = await asyncio.wait(pumps, timeout=_PIPE_DRAIN_TIMEOUT)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


def _signal_group(proc: asyncio.subprocess.Process, sig: signal.Signals) -> None:
    try:
        os.killpg(proc.pid, sig)  # the child leads its own session, so pgid == pid
    except ProcessLookupError:
        pass
    except PermissionError:
        if proc.returncode is None:
            proc.send_signal(sig)


def _describe(returncode: int | None) -> str:
    if returncode is None:
        return "no process"
    if returncode < 0:
        try:
            return f"signal {signal.Signals(-returncode).name}"
        except ValueError:
            return f"signal {-returncode}"
    return f"code {returncode}"


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
