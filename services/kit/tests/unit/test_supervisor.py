from __future__ import annotations

import asyncio
import contextlib
import io
import os
import signal
import sys
import textwrap
import time
from collections.abc import AsyncIterator

import pytest

from kit.supervisor import ProcessSpec, Supervisor

TRAPS_SIGTERM = """
    import signal, sys, time
    def bye(*_):
        print("bye", flush=True)
        sys.exit(0)
    signal.signal(signal.SIGTERM, bye)
    print("ready", flush=True)
    while True:
        time.sleep(0.05)
"""

IGNORES_SIGTERM = """
    import signal, time
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    print("ready", flush=True)
    time.sleep(60)
"""


def py(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


class TtyBuffer(io.StringIO):
    def isatty(self) -> bool:
        return True


async def wait_for_text(out: io.StringIO, text: str, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while text not in out.getvalue():
        if time.monotonic() > deadline:
            pytest.fail(f"{text!r} never appeared in output:\n{out.getvalue()}")
        await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def supervising(sup: Supervisor) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(sup.run())
    try:
        yield task
    finally:
        if not task.done():
            sup.stop()
            sup.stop()  # a failed test should not wait out the grace period
        await asyncio.wait_for(task, 10)


@pytest.mark.asyncio
async def test_lines_are_prefixed_and_padded() -> None:
    out = io.StringIO()
    specs = [
        ProcessSpec("a", py("import sys; print('to-out'); print('to-err', file=sys.stderr)")),
        ProcessSpec("longname", py("print('hello\\nworld', end='')")),
    ]
    await asyncio.wait_for(Supervisor(specs, restart=False, out=out).run(), 10)
    lines = out.getvalue().splitlines()
    assert "a        | to-out" in lines
    assert "a        | to-err" in lines
    assert "longname | hello" in lines
    assert "longname | world" in lines  # a last line without newline is not lost
    assert "\x1b[" not in out.getvalue()


@pytest.mark.asyncio
async def test_prefix_is_coloured_on_a_tty() -> None:
    out = TtyBuffer()
    sup = Supervisor([ProcessSpec("web", py("print('x')"))], restart=False, out=out)
    await asyncio.wait_for(sup.run(), 10)
    assert "\x1b[36mweb |\x1b[0m x" in out.getvalue().splitlines()


@pytest.mark.asyncio
async def test_env_cwd_and_unbuffered(tmp_path: os.PathLike[str]) -> None:
    out = io.StringIO()
    code = "import os; print(os.environ['FOO'], os.environ['PYTHONUNBUFFERED'], os.getcwd())"
    spec = ProcessSpec("env", py(code), env={"FOO": "bar"}, cwd=str(tmp_path))
    await asyncio.wait_for(Supervisor([spec], restart=False, out=out).run(), 10)
    assert f"env | bar 1 {tmp_path}" in out.getvalue().splitlines()


@pytest.mark.asyncio
async def test_crashing_child_is_restarted_with_backoff() -> None:
    out = io.StringIO()
    crasher = ProcessSpec("crasher", py("print('attempt'); raise SystemExit(3)"))
    sup = Supervisor([crasher], max_backoff=0.05, out=out)
    async with supervising(sup):
        deadline = time.monotonic() + 10
        while sup.restarts["crasher"] < 2:
            assert time.monotonic() < deadline, out.getvalue()
            await asyncio.sleep(0.02)
        sup.stop()
    text = out.getvalue()
    assert text.count("crasher | attempt") >= 2
    assert "exited with code 3; restart #2 in 0.05s" in text


@pytest.mark.asyncio
async def test_stop_terminates_children_gracefully() -> None:
    out = io.StringIO()
    sup = Supervisor([ProcessSpec("trapper", py(TRAPS_SIGTERM))], grace=5, out=out)
    async with supervising(sup) as task:
        await wait_for_text(out, "trapper | ready")
        started = time.monotonic()
        sup.stop()
        await asyncio.wait_for(task, 5)
    assert time.monotonic() - started < 2
    assert "trapper | bye" in out.getvalue().splitlines()
    assert sup.returncodes["trapper"] == 0
    assert sup.restarts["trapper"] == 0


@pytest.mark.asyncio
async def test_sigterm_to_supervisor_stops_children_in_their_own_session() -> None:
    out = io.StringIO()
    previous = signal.getsignal(signal.SIGTERM)
    sup = Supervisor([ProcessSpec("trapper", py(TRAPS_SIGTERM))], grace=5, out=out)
    async with supervising(sup) as task:
        await wait_for_text(out, "trapper | ready")
        # Own session: a terminal Ctrl-C reaches only the supervisor, which forwards SIGTERM.
        assert os.getsid(sup.pids["trapper"]) != os.getsid(0)
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(task, 5)
    assert "trapper | bye" in out.getvalue().splitlines()
    assert sup.returncodes["trapper"] == 0
    assert signal.getsignal(signal.SIGTERM) == previous


@pytest.mark.asyncio
async def test_child_ignoring_sigterm_is_killed_after_grace() -> None:
    out = io.StringIO()
    sup = Supervisor([ProcessSpec("stubborn", py(IGNORES_SIGTERM))], grace=0.3, out=out)
    async with supervising(sup) as task:
        await wait_for_text(out, "stubborn | ready")
        started = time.monotonic()
        sup.stop()
        await asyncio.wait_for(task, 5)
    elapsed = time.monotonic() - started
    assert 0.3 <= elapsed < 3
    assert sup.returncodes["stubborn"] == -signal.SIGKILL
    assert "SIGKILL" in out.getvalue()


@pytest.mark.asyncio
async def test_unstartable_command_is_reported() -> None:
    out = io.StringIO()
    spec = ProcessSpec("ghost", ["/nonexistent/vellarys-binary"])
    await asyncio.wait_for(Supervisor([spec], restart=False, out=out).run(), 5)
    assert "ghost | [supervisor] failed to start" in out.getvalue()


def test_duplicate_names_are_rejected() -> None:
    with pytest.raises(ValueError, match="unique"):
        Supervisor([ProcessSpec("a", ["true"]), ProcessSpec("a", ["true"])])
