"""One endpoint's call path: breaker -> adaptive limiter -> budget -> backend, with retries.

`CallGuard.call` sends one conversation and returns a Completion or the final ModelCallError (after the
retries transient errors deserve), or raises RunStopped (budget reached, endpoint down past the max wait).
`GuardedBackend` wraps any backend with a guard, so LLM critics' judge models get the same treatment.
"""

from __future__ import annotations

import asyncio
from typing import Any

from seval.models.base import ModelBackend
from seval.records import Completion, ErrorKind, GenParams, Message, ModelCallError
from seval.runner.budget import Meter
from seval.runner.limiter import AdaptiveLimiter
from seval.runner.policy import DOWN_KINDS, CircuitBreaker, RetryPolicy, RunStopped


def is_congestion(err: ModelCallError) -> bool:
    return err.kind == ErrorKind.RATE_LIMITED or err.status == 503


class CallGuard:
    """Limiter, breaker, retry policy and meter for one model endpoint."""

    def __init__(self, backend: ModelBackend, name: str, meter: Meter, concurrency: int,
                 retry: RetryPolicy | None = None, breaker: CircuitBreaker | None = None,
                 limiter: AdaptiveLimiter | None = None) -> None:
        self.backend = backend
        self.name = name
        self.meter = meter
        self.retry = retry or RetryPolicy()
        self.breaker = breaker or CircuitBreaker()
        self.limiter = limiter or AdaptiveLimiter(concurrency)
        self.stopped: RunStopped | None = None
        self.retries = 0  # extra tries sent because of transient errors

    async def acquire(self, priority: bool = False) -> bool:
        """Wait for the breaker and a slot; returns whether the request is the breaker's probe."""
        if self.stopped:
            raise self.stopped
        probe = await self.breaker.before_call()
        try:
            await self.limiter.acquire(priority=priority)
        except BaseException:
            if probe:
                self.breaker.probing = False
            raise
        return probe

    def cancel(self, probe: bool) -> None:
        """Give back a slot taken by acquire() without sending the request."""
        self.limiter.release()
        if probe:
            self.breaker.probing = False

    async def call(self, messages: list[Message], params: GenParams, held: bool = False,
                   probe: bool = False) -> tuple[Completion | ModelCallError, int]:
        """(completion or final error, tries sent). `held`: the caller already holds a slot from acquire()."""
        tries = 0
        counted = 0  # tries that count against the retry limit (not those made while the endpoint was down)
        while True:
            if not held:
                probe = await self.acquire(priority=tries > 0)
            held = False
            try:
                if self.stopped:
                    raise self.stopped
                self.meter.check()
            except RunStopped:
                self.cancel(probe)
                raise
            self.meter.sent(self.name)
            sent_at = self.limiter.clock()
            tries += 1
            err: ModelCallError | None = None
            try:
                comp = await self.backend.generate(messages, params)
            except ModelCallError as exc:
                err = exc
            except (asyncio.CancelledError, RunStopped):
                self.meter.answered(self.name, 0, 0)
                self.cancel(probe)
                raise
            except Exception as exc:  # a backend bug must not kill the run: the item records it
                err = ModelCallError(ErrorKind.OTHER, f"{type(exc).__name__}: {exc}"[:300])
            self.limiter.release()
            if err is None:
                self.meter.answered(self.name, comp.usage.prompt_tokens, comp.usage.completion_tokens)
                self.limiter.on_success()
                self.breaker.record(True, False, probe)
                return comp, tries
            self.meter.answered(self.name, 0, 0)
            if is_congestion(err):
                self.limiter.on_congestion(err.retry_after, sent_at)
            else:
                self.limiter.on_other()
            down = err.kind in DOWN_KINDS
            self.breaker.record(False, down, probe, err.message)
            probe = False
            if down and self.breaker.is_open:
                continue  # the endpoint is down: wait for it (acquire) without using up a retry
            counted += 1
            if not self.retry.should_retry(err, counted):
                return err, tries
            self.retries += 1
            await asyncio.sleep(self.retry.delay(counted, err))


class GuardedBackend(ModelBackend):
    """Any backend behind a CallGuard; same spec and config (so cache keys do not change)."""

    def __init__(self, inner: ModelBackend, guard: CallGuard) -> None:
        super().__init__(inner.spec)
        self.inner = inner
        self.guard = guard
        self.max_batch = inner.max_batch
        self.default_concurrency = inner.default_concurrency

    def config(self) -> dict[str, Any]:
        return self.inner.config()

    def config_hash(self) -> str:
        return self.inner.config_hash()

    async def _generate(self, messages: list[Message], params: GenParams) -> Completion:
        result, _ = await self.guard.call(messages, params)
        if isinstance(result, ModelCallError):
            raise result
        return result

    async def aclose(self) -> None:
        await self.inner.aclose()

    def __getattr__(self, name: str) -> Any:
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)
