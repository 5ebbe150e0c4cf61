"""A circuit breaker per LLM endpoint: stop calling a provider that keeps failing.

One breaker per (base URL, model), shared by every thread of the process. Closed, it lets
calls through and counts consecutive failures; after ``failure_threshold`` of them it
opens and calls fail fast with ``CircuitOpenError`` (which says when to come back). Once
``reset_after_s`` has passed it is half-open: one trial call goes through (others still
fail fast); its success closes the breaker, its failure opens it again.

Only failures that say "the provider is unwell" count (5xx, 429, timeouts, connection
errors): the caller decides, through ``record_failure`` / ``record_success``. The
breaker never retries anything itself; Temporal owns retries.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from enum import StrEnum

Clock = Callable[[], float]


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitOpenError(RuntimeError):
    """The breaker is open: the call was not made. Retry after ``retry_after_s``."""

    def __init__(self, name: str, retry_after_s: float) -> None:
        self.name = name
        self.retry_after_s = retry_after_s
        super().__init__(
            f"circuit breaker open for {name}: the provider failed repeatedly; "
            f"not calling it for another {retry_after_s:.1f} s"
        )


class CircuitBreaker:
    """Thread-safe consecutive-failure breaker with a half-open trial call."""

    def __init__(
        self,
        name: str,
        failure_threshold: int = 5,
        reset_after_s: float = 30.0,
        clock: Clock = time.monotonic,
    ) -> None:
        self.name = name
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_in_flight = False
        self._threshold = 1
        self._reset_after_s = 0.0
        self.configure(failure_threshold, reset_after_s)

    def configure(self, failure_threshold: int, reset_after_s: float) -> None:
        if failure_threshold < 1 or reset_after_s < 0:
            raise ValueError("circuit breaker needs failure_threshold >= 1 and reset_after_s >= 0")
        with self._lock:
            self._threshold = failure_threshold
            self._reset_after_s = reset_after_s

    @property
    def state(self) -> BreakerState:
        with self._lock:
            return self._state()

    @property
    def consecutive_failures(self) -> int:
        with self._lock:
            return self._failures

    def before_call(self) -> None:
        """Let the call through, or raise ``CircuitOpenError`` at once."""
        with self._lock:
            state = self._state()
            if state is BreakerState.CLOSED:
                return
            if state is BreakerState.HALF_OPEN and not self._trial_in_flight:
                self._trial_in_flight = True
                return
            raise CircuitOpenError(self.name, self._retry_after())

    def record_success(self) -> None:
        """The provider answered (even with a client error): close the breaker."""
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._trial_in_flight = False

    def record_failure(self) -> None:
        """The provider failed; open the breaker at the threshold or after a failed trial."""
        with self._lock:
            self._failures += 1
            failed_trial = self._trial_in_flight
            self._trial_in_flight = False
            if failed_trial or self._failures >= self._threshold:
                self._opened_at = self._clock()

    def _state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._clock() - self._opened_at >= self._reset_after_s:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    def _retry_after(self) -> float:
        if self._opened_at is None:
            return 0.0
        remaining = self._opened_at + self._reset_after_s - self._clock()
        # Half-open with a trial in flight: come back about when the trial has answered.
        return max(remaining, 1.0)


_registry_lock = threading.Lock()
_breakers: dict[tuple[str, str], CircuitBreaker] = {}


def breaker_for(
    base_url: str, model: str, failure_threshold: int, reset_after_s: float
) -> CircuitBreaker:
    """The process-wide breaker of (base_url, model), with the thresholds given now."""
    key = (base_url.rstrip("/"), model)
    with _registry_lock:
        breaker = _breakers.get(key)
        if breaker is None:
            breaker = CircuitBreaker(f"{model} at {key[0]}", failure_threshold, reset_after_s)
            _breakers[key] = breaker
            return breaker
    breaker.configure(failure_threshold, reset_after_s)
    return breaker


def reset_breakers() -> None:
    """Forget every breaker (tests)."""
    with _registry_lock:
        _breakers.clear()
