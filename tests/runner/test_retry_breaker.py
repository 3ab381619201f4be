"""RetryPolicy (Retry-After honoured, non-transient errors not retried) and the circuit breaker."""

from __future__ import annotations

import asyncio

import pytest

from seval.models.retry import CircuitBreaker, EndpointDown, RetryPolicy
from seval.records import ErrorKind, ModelCallError


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_retry_after_is_honoured_and_backoff_grows_with_jitter() -> None:
    pol = RetryPolicy(max_retries=5, base_s=0.5, cap_s=60)
    err = ModelCallError(ErrorKind.RATE_LIMITED, "429", retry_after=3.0)
    assert all(3.0 <= pol.delay(1, err) <= 3.3 for _ in range(50))
    plain = ModelCallError(ErrorKind.SERVER_ERROR, "500")
    d1 = [pol.delay(1, plain) for _ in range(50)]
    d4 = [pol.delay(4, plain) for _ in range(50)]
    assert all(0.25 <= d <= 0.5 for d in d1) and all(2.0 <= d <= 4.0 for d in d4)
    assert len(set(d1)) > 1  # jittered
    assert pol.delay(30, plain) <= 60


@pytest.mark.parametrize("kind", [ErrorKind.BAD_REQUEST, ErrorKind.AUTH, ErrorKind.CONTENT_FILTER, ErrorKind.OTHER])
def test_non_transient_errors_are_not_retried(kind: ErrorKind) -> None:
    assert not RetryPolicy().should_retry(ModelCallError(kind, "x"), 1)


@pytest.mark.parametrize("kind", [ErrorKind.RATE_LIMITED, ErrorKind.SERVER_ERROR, ErrorKind.TIMEOUT,
                                  ErrorKind.CONNECTION, ErrorKind.MALFORMED])
def test_transient_errors_are_retried_up_to_the_limit(kind: ErrorKind) -> None:
    pol = RetryPolicy(max_retries=2)
    err = ModelCallError(kind, "x")
    assert pol.should_retry(err, 1) and pol.should_retry(err, 2) and not pol.should_retry(err, 3)


def test_breaker_opens_probes_with_growing_interval_and_closes() -> None:
    clock = Clock()
    events: list[str] = []
    br = CircuitBreaker(threshold=3, probe_interval=1.0, max_probe_interval=4.0, max_wait=100, clock=clock,
                        on_change=lambda state, msg: events.append(state))
    br.record(False, True, error="connection refused")
    br.record(False, True)
    br.record(True, False)  # a success in between resets the count
    br.record(False, True)
    br.record(False, True)
    assert not br.is_open
    br.record(False, True)
    assert br.is_open and events == ["open"] and "endpoint down" in br.status()
    assert not br.probe_due()
    clock.t = 1.0
    assert br.probe_due()
    br.probing = True
    br.record(False, True, probe=True)  # probe failed: next one in 2 s, then 4 s (capped)
    assert br.next_probe_at == pytest.approx(3.0)
    clock.t = 3.0
    br.probing = True
    br.record(False, True, probe=True)
    clock.t = 7.0
    br.probing = True
    br.record(False, True, probe=True)
    assert br.next_probe_at == pytest.approx(11.0)
    br.record(True, False, probe=True)
    assert not br.is_open and events == ["open", "closed"]


def test_breaker_ignores_non_down_errors_and_a_429_proves_the_endpoint_is_up() -> None:
    br = CircuitBreaker(threshold=2, clock=Clock())
    for _ in range(10):
        br.record(False, False)  # 400s, 429s: the server answers
    assert not br.is_open
    br.record(False, True)
    br.record(False, True)
    assert br.is_open
    br.record(False, False)
    assert not br.is_open


async def test_breaker_waits_for_probe_then_raises_after_max_wait() -> None:
    br = CircuitBreaker(threshold=1, probe_interval=0.05, max_wait=0.3)
    br.record(False, True, error="refused")
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    assert await br.before_call() is True  # the probe, after ~50 ms
    assert loop.time() - t0 >= 0.04
    # while the probe is out, others wait; the probe fails; eventually the max wait ends the run
    br.record(False, True, probe=True)
    with pytest.raises(EndpointDown, match="stayed down"):
        while True:
            probe = await br.before_call()
            if probe:
                br.record(False, True, probe=True)
    assert loop.time() - t0 >= 0.29


async def test_breaker_releases_waiters_when_the_probe_succeeds() -> None:
    br = CircuitBreaker(threshold=1, probe_interval=0.05, max_wait=5)
    br.record(False, True)
    waiters = [asyncio.create_task(br.before_call()) for _ in range(5)]
    done, _ = await asyncio.wait(waiters, timeout=0.5, return_when=asyncio.FIRST_COMPLETED)
    assert [t.result() for t in done] == [True]  # exactly one probe
    br.record(True, False, probe=True)
    results = await asyncio.wait_for(asyncio.gather(*waiters), 1)
    assert sorted(results) == [False, False, False, False, True]
