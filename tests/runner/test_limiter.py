"""AdaptiveLimiter: AIMD on 429/503, Retry-After pauses, priority for retries (fake clock where possible)."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from seval.models.limiter import AdaptiveLimiter


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_isolated_429s_do_not_cut_the_limit() -> None:
    clock = Clock()
    lim = AdaptiveLimiter(64, clock=clock)
    for i in range(400):  # a steady 5% of 429s spread evenly: noise, not a rate limit
        if i % 20 == 0:
            assert lim.on_congestion(retry_after=1.0, sent_at=clock.t) is False
        else:
            lim.on_success()
    assert lim.cap == 64 and lim.cuts == 0 and lim.paused_for == 0


def test_dense_429s_cut_multiplicatively_and_pause_until_retry_after() -> None:
    clock = Clock()
    lim = AdaptiveLimiter(64, clock=clock)
    cut = [lim.on_congestion(retry_after=2.0, sent_at=clock.t) for _ in range(3)]
    assert cut == [False, False, True]
    assert lim.cap == 32 and lim.cuts == 1
    assert lim.paused_for == pytest.approx(2.0)
    # answers to requests sent before the cut are old news: no second cut
    assert lim.on_congestion(retry_after=2.0, sent_at=clock.t - 1) is False
    clock.t += 2.5
    assert lim.paused_for == 0
    for _ in range(3):
        lim.on_congestion(retry_after=None, sent_at=clock.t)
    assert lim.cap == 16 and lim.cuts == 2


def test_never_below_min_and_grows_back_additively() -> None:
    clock = Clock()
    lim = AdaptiveLimiter(8, min_limit=2, clock=clock)
    for _ in range(10):
        for _ in range(3):
            lim.on_congestion(sent_at=clock.t)
        clock.t += 1
    assert lim.cap == 2
    grown = []
    for _ in range(40):
        lim.on_success()
        grown.append(lim.cap)
    # about +1 per window of `limit` successes: 2 -> 3 within 3 successes, never jumping, capped at 8
    assert grown[0] == 2 and grown[2] == 3 and all(b - a in (0, 1) for a, b in itertools.pairwise(grown))
    for _ in range(200):
        lim.on_success()
    assert lim.cap == 8


async def test_acquire_respects_the_cap_and_gives_retries_priority() -> None:
    lim = AdaptiveLimiter(2)
    await lim.acquire()
    await lim.acquire()
    order: list[str] = []

    async def take(name: str, prio: bool) -> None:
        await lim.acquire(priority=prio)
        order.append(name)

    t_new = asyncio.create_task(take("new", False))
    await asyncio.sleep(0)
    t_retry = asyncio.create_task(take("retry", True))
    await asyncio.sleep(0.01)
    assert order == [] and lim.in_flight == 2
    lim.release()
    await asyncio.sleep(0.01)
    assert order == ["retry"]
    lim.release()
    await asyncio.gather(t_new, t_retry)
    assert order == ["retry", "new"] and lim.in_flight == 2


async def test_pause_blocks_new_sends_until_retry_after() -> None:
    lim = AdaptiveLimiter(4, min_signals=1, threshold=0.0)
    assert lim.on_congestion(retry_after=0.2)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    await lim.acquire()
    assert loop.time() - t0 >= 0.18


async def test_cancelled_waiter_does_not_leak_a_slot() -> None:
    lim = AdaptiveLimiter(1)
    await lim.acquire()
    waiter = asyncio.create_task(lim.acquire())
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    lim.release()
    assert lim.in_flight == 0
    await asyncio.wait_for(lim.acquire(), 1)
