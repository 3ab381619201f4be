"""Retry policy (transient errors only, jittered exponential backoff, Retry-After honoured) and the circuit
breaker that pauses a run while its endpoint is down instead of failing every remaining item.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from seval.records import ErrorKind, ModelCallError

#: failures that say the endpoint itself is down or broken (they feed the circuit breaker)
DOWN_KINDS = frozenset({ErrorKind.CONNECTION, ErrorKind.SERVER_ERROR, ErrorKind.TIMEOUT})


class RunStopped(Exception):
    """The run stopped early but cleanly: what is stored is kept and the same command resumes it."""

    exit_code = 3
    reason = "stopped"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class EndpointDown(RunStopped):
    exit_code = 4
    reason = "endpoint_down"


class BudgetReached(RunStopped):
    exit_code = 3
    reason = "budget"


@dataclass
class RetryPolicy:
    """Jittered exponential backoff for transient errors only; the server's Retry-After wins when given."""

    max_retries: int = 6
    base_s: float = 0.5
    cap_s: float = 60.0

    def should_retry(self, err: ModelCallError, attempt: int) -> bool:
        """`attempt` counts the tries already made (1 after the first failure)."""
        return err.kind.transient and attempt <= self.max_retries

    def delay(self, attempt: int, err: ModelCallError | None = None) -> float:
        if err is not None and err.retry_after is not None:
            # at least what the server asked for, plus a little jitter so retries do not arrive together
            return min(self.cap_s, err.retry_after) + random.uniform(0.0, 0.1 * max(0.1, err.retry_after))
        return min(self.cap_s, self.base_s * 2.0 ** max(0, attempt - 1)) * random.uniform(0.5, 1.0)


class CircuitBreaker:
    """Opens after `threshold` consecutive down-signals (connection errors, 5xx, timeouts); while open, one
    probe request at a time is let through at growing intervals; the first answer closes it. After
    `max_wait` seconds open, waiting callers get `EndpointDown`.
    """

    def __init__(self, threshold: int = 8, probe_interval: float = 1.0, max_probe_interval: float = 30.0,
                 max_wait: float = 900.0, clock: Callable[[], float] = time.monotonic,
                 on_change: Callable[[str, str], None] | None = None) -> None:
        self.threshold = max(1, threshold)
        self.probe_interval = probe_interval
        self.max_probe_interval = max_probe_interval
        self.max_wait = max_wait
        self.clock = clock
        self.on_change = on_change
        self.state = "closed"
        self.consecutive = 0
        self.opened_at = 0.0
        self.next_probe_at = 0.0
        self._interval = probe_interval
        self.probing = False
        self.openings = 0
        self.last_error = ""
        self._closed_evt: asyncio.Event | None = None

    def _event(self) -> asyncio.Event:
        if self._closed_evt is None:
            self._closed_evt = asyncio.Event()
            if self.state == "closed":
                self._closed_evt.set()
        return self._closed_evt

    @property
    def is_open(self) -> bool:
        return self.state != "closed"

    def status(self) -> str:
        if not self.is_open:
            return ""
        now = self.clock()
        nxt = max(0.0, self.next_probe_at - now)
        return (f"endpoint down ({self.last_error[:60]}): paused {now - self.opened_at:.0f}s of max "
                f"{self.max_wait:.0f}s, next probe in {nxt:.0f}s")

    def probe_due(self) -> bool:
        return self.is_open and not self.probing and self.clock() >= self.next_probe_at

    def check_max_wait(self) -> None:
        if self.is_open and self.clock() - self.opened_at >= self.max_wait:
            raise EndpointDown(f"the endpoint stayed down for {self.max_wait:.0f}s ({self.last_error[:200]})")

    async def before_call(self) -> bool:
        """Wait until a request may be sent. Returns True when this request is the probe."""
        while self.is_open:
            self.check_max_wait()
            if self.probe_due():
                self.probing = True
                return True
            now = self.clock()
            wait = min(self.opened_at + self.max_wait - now,
                       (self.next_probe_at - now) if not self.probing else self._interval)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._event().wait(), timeout=max(0.005, wait))
        return False

    def record(self, ok: bool, down: bool, probe: bool = False, error: str = "") -> None:
        """One answer: `ok` a success; `down` a down-signal failure. Anything the server answered closes it."""
        if probe:
            self.probing = False
        if ok or not down:
            self.consecutive = 0
            if self.is_open:
                self._close()
            return
        self.consecutive += 1
        self.last_error = error or self.last_error
        now = self.clock()
        if self.is_open:
            if probe:
                self._interval = min(self.max_probe_interval, self._interval * 2)
                self.next_probe_at = now + self._interval
            return
        if self.consecutive >= self.threshold:
            self.state = "open"
            self.openings += 1
            self.opened_at = now
            self._interval = self.probe_interval
            self.next_probe_at = now + self._interval
            self._event().clear()
            if self.on_change:
                self.on_change("open", f"endpoint down after {self.consecutive} consecutive failures "
                                       f"({self.last_error[:120]}); pausing and probing until it is back "
                                       f"(max {self.max_wait:.0f}s)")

    def _close(self) -> None:
        down_for = self.clock() - self.opened_at
        self.state = "closed"
        self.consecutive = 0
        self._interval = self.probe_interval
        self._event().set()
        if self.on_change:
            self.on_change("closed", f"endpoint is back after {down_for:.0f}s; resuming")
