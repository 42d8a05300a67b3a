from __future__ import annotations

import subprocess
import sys


def test_settle_heap_freezes_what_start_up_left_and_keeps_collecting_the_rest():
    # In a child process: a frozen heap stays frozen, and this test process must not be changed.
    script = """
import gc
from kit import runtime
import grpc, sqlalchemy, fastapi  # noqa: F401  start-up's long-lived objects
assert gc.get_freeze_count() == 0
runtime.settle_heap()
frozen = gc.get_freeze_count()
assert frozen > 10_000, frozen
class Cycle:
    pass
a, b = Cycle(), Cycle()
a.other, b.other = b, a
del a, b
assert gc.collect() >= 2  # new garbage is still collected
assert gc.get_freeze_count() == frozen
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
