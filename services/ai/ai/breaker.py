"""An in-process circuit breaker for the model: stop calling a provider that keeps failing.

Opens after `failures` consecutive failed replies; after `cooldown` one caller probes (half-open):
its success closes the breaker, its failure re-opens it for another cooldown. While open, callers
answer with the fallback at once instead of spending the lead's 15 seconds on a dead provider.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum


class State(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    def __init__(self, failures: int, cooldown: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.threshold = failures
        self.cooldown = cooldown
        self._clock = clock
        self._consecutive = 0
        self._opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> State:
        if self._opened_at is None:
            return State.CLOSED
        if self._probing or self._clock() - self._opened_at >= self.cooldown:
            return State.HALF_OPEN
        return State.OPEN

    @property
    def consecutive_failures(self) -> int:
        return self._consecutive

    def allow(self) -> bool:
        """May this caller call the model? In half-open, only one caller (the probe) may."""
        state = self.state
        if state is State.CLOSED:
            return True
        if state is State.HALF_OPEN and not self._probing:
            self._probing = True
            return True
        return False

    def record_success(self) -> None:
        self._consecutive = 0
        self._opened_at = None
        self._probing = False

    def record_failure(self) -> None:
        self._consecutive += 1
        if self._probing or self._consecutive >= self.threshold:
            self._opened_at = self._clock()
        self._probing = False

    def release(self) -> None:
        """The caller could not tell whether the model works (our own error): free the probe slot."""
        self._probing = False
