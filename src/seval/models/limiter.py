"""Adaptive concurrency (AIMD) for one endpoint: `--concurrency` is the ceiling, rate limits shrink it.

Congestion signals are 429 and 503 answers. The limit is cut multiplicatively when they are not isolated
(more than `threshold` of the recent answers, at least `min_signals` of them, from requests sent after the
last cut), and new sends pause until the server's Retry-After. It grows back additively (+`increase` per
window of `limit` successes, about one per round trip) while answers are healthy. Isolated 429s only delay
the request that got them (its retry waits out Retry-After): a provider that rejects a steady few percent of
requests at random should not collapse the whole run to one request at a time.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable


class AdaptiveLimiter:
    """Grants send slots: at most `int(limit)` in flight, none while paused. Retries may jump the queue."""

    def __init__(self, max_limit: int, min_limit: int = 1, decrease: float = 0.5, increase: float = 1.0,
                 threshold: float = 0.25, min_signals: int = 3, window: int | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_limit = max(1, max_limit)
        self.min_limit = max(1, min(min_limit, self.max_limit))
        self.limit = float(self.max_limit)
        self.decrease = decrease
        self.increase = increase
        self.threshold = threshold
        self.min_signals = min_signals
        self.clock = clock
        self.in_flight = 0
        self.paused_until = 0.0
        self.last_cut = float("-inf")
        self.cuts = 0
        self._recent: deque[bool] = deque(maxlen=window or max(40, self.max_limit))
        self._signals = 0  # congestion answers in `_recent`
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._prio: deque[asyncio.Future[None]] = deque()
        self._timer: asyncio.TimerHandle | None = None

    # ---- slots ----------------------------------------------------------------------------------------
    @property
    def cap(self) -> int:
        return max(self.min_limit, int(self.limit))

    @property
    def paused_for(self) -> float:
        return max(0.0, self.paused_until - self.clock())

    def _free(self) -> bool:
        return self.in_flight < self.cap and self.clock() >= self.paused_until

    async def acquire(self, priority: bool = False) -> None:
        """Wait for a send slot (the caller must `release()` it)."""
        if not self._waiters and not self._prio and self._free():
            self.in_flight += 1
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        (self._prio if priority else self._waiters).append(fut)
        self._wake()
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self.release()  # the slot was granted just as we were cancelled: give it back
            else:
                for q in (self._prio, self._waiters):
                    if fut in q:
                        q.remove(fut)
            raise

    def release(self) -> None:
        self.in_flight -= 1
        self._wake()

    def _wake(self) -> None:
        wait = self.paused_until - self.clock()
        if wait > 0:
            if self._timer is None and (self._waiters or self._prio):
                loop = asyncio.get_running_loop()
                self._timer = loop.call_later(wait, self._timer_fired)
            return
        while self.in_flight < self.cap and (self._prio or self._waiters):
            fut = (self._prio or self._waiters).popleft()
            if fut.done():
                continue
            self.in_flight += 1
            fut.set_result(None)

    def _timer_fired(self) -> None:
        self._timer = None
        self._wake()

    # ---- feedback -------------------------------------------------------------------------------------
    def _push(self, congested: bool) -> None:
        if len(self._recent) == self._recent.maxlen and self._recent[0]:
            self._signals -= 1
        self._recent.append(congested)
        self._signals += congested

    @property
    def congestion_share(self) -> float:
        return self._signals / len(self._recent) if self._recent else 0.0

    def on_success(self) -> None:
        """A healthy answer: grow by `increase` per window of `limit` successes."""
        self._push(False)
        if self.limit < self.max_limit:
            before = self.cap
            self.limit = min(float(self.max_limit), self.limit + self.increase / self.limit)
            if self.cap > before:
                self._wake()

    def on_congestion(self, retry_after: float | None = None, sent_at: float | None = None) -> bool:
        """A 429/503. Returns True when it cut the limit (and paused new sends until Retry-After)."""
        self._push(True)
        if sent_at is not None and sent_at < self.last_cut:
            return False  # answered a request sent before the last cut: old news
        if self._signals < self.min_signals or self.congestion_share <= self.threshold:
            return False
        now = self.clock()
        self.limit = max(float(self.min_limit), self.limit * self.decrease)
        self.last_cut = now
        self.cuts += 1
        self._recent.clear()
        self._signals = 0
        if retry_after:
            self.paused_until = max(self.paused_until, now + retry_after)
        return True

    def on_other(self) -> None:
        """An answer that says nothing about load (a 400, a content filter...): neutral."""
        self._push(False)
