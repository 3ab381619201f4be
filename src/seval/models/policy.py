"""The call policy every model call of a run goes through: breaker -> adaptive limiter -> budget -> backend,
with retries.

A run makes one `CallPolicy` and opens it as the ambient scope (`with policy.scope():`, seval.models.scope):
every `ModelBackend` call inside goes through the policy's `CallGuard` for (role, backend), whoever built the
backend. `policy.model("openai:gpt-4o-mini", "judge")` / `policy.wrap(backend, "judge")` pin a backend's role
(and its concurrency and price). Each (role, endpoint) gets its own guard (limiter, breaker); all share the
policy's retry rule and `Meter`, so `--max-requests` / `--max-cost` bound every call of the run and
`usage_by_role()` reports them per role. A backend that calls other backends (`composite`: a defended model)
is not metered itself: the calls it makes are.

`CallGuard.call` sends one conversation and returns a Completion or the final ModelCallError (after the
retries transient errors deserve), or raises RunStopped (budget reached, endpoint down past the max wait).
A call sends at most `max_retries + 1` requests, except for the target, whose tries while its endpoint is
down (the breaker is open) do not use up retries: the run pauses and probes instead of failing its items.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

from seval.models.base import ModelBackend, resolve_model
from seval.models.budget import FREE, Meter, Price, PriceTable, is_in_process, model_name
from seval.models.limiter import AdaptiveLimiter
from seval.models.retry import DOWN_KINDS, CircuitBreaker, RetryPolicy, RunStopped
from seval.models.scope import as_sent, call_role, current_scope, open_scope
from seval.records import Completion, ErrorKind, GenParams, Message, ModelCallError

#: the roles a model plays in a run; the summary lists usage per role
ROLES = ("target", "judge", "generator", "rewriter", "router", "defense", "attacker")


def is_congestion(err: ModelCallError) -> bool:
    return err.kind == ErrorKind.RATE_LIMITED or err.status == 503


class CallGuard:
    """Limiter, breaker, retry rule and meter for one model endpoint in one role."""

    def __init__(self, backend: ModelBackend, name: str, meter: Meter, concurrency: int,
                 retry: RetryPolicy | None = None, breaker: CircuitBreaker | None = None,
                 limiter: AdaptiveLimiter | None = None, role: str = "target", patient: bool = False) -> None:
        self.backend = backend
        self.name = name
        self.meter = meter
        self.role = role
        #: True: tries made while the endpoint is down do not count against max_retries (the target)
        self.patient = patient
        self.retry = retry or RetryPolicy()
        self.breaker = breaker or CircuitBreaker()
        self.limiter = limiter or AdaptiveLimiter(concurrency)
        self.stopped: RunStopped | None = None
        self.retries = 0  # extra tries sent because of transient errors
        #: a composite backend (a defended model) only takes a slot here: the calls it makes are metered
        self.metered = not backend.composite

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

    def _admit(self, probe: bool) -> None:
        """The budget's and the run's go-ahead for one send (the slot is held); gives the slot back on a stop."""
        try:
            if self.stopped:
                raise self.stopped
            self.meter.check()
        except RunStopped:
            self.cancel(probe)
            raise

    def _feedback(self, err: ModelCallError | None, probe: bool, sent_at: float) -> None:
        """What one answer tells the limiter and the breaker."""
        if err is None:
            self.limiter.on_success()
            self.breaker.record(True, False, probe)
            return
        if is_congestion(err):
            self.limiter.on_congestion(err.retry_after, sent_at)
        else:
            self.limiter.on_other()
        self.breaker.record(False, err.kind in DOWN_KINDS, probe, err.message)

    async def call(self, messages: list[Message], params: GenParams, held: bool = False,
                   probe: bool = False) -> tuple[Completion | ModelCallError, int]:
        """(completion or final error, tries sent). `held`: the caller already holds a slot from acquire()."""
        if not self.metered:
            return await self._call_composite(messages, params, held, probe), 1
        tries = 0
        counted = 0  # tries that count against the retry limit
        while True:
            if not held:
                probe = await self.acquire(priority=tries > 0)
            held = False
            self._admit(probe)
            self.meter.sent(self.name)
            if tries:
                self.retries += 1
                self.meter.retried(self.name)
            sent_at = self.limiter.clock()
            tries += 1
            err: ModelCallError | None = None
            try:
                with as_sent():
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
            self._feedback(err, probe, sent_at)
            if err is None:
                self.meter.answered(self.name, comp.usage.prompt_tokens, comp.usage.completion_tokens)
                return comp, tries
            self.meter.answered(self.name, 0, 0, error=True)
            probe = False
            if self.patient and err.kind in DOWN_KINDS and self.breaker.is_open:
                continue  # the endpoint is down: wait for it (acquire) without using up a retry
            counted += 1
            if not self.retry.should_retry(err, counted):
                return err, tries
            await asyncio.sleep(self.retry.delay(counted, err))

    async def _call_composite(self, messages: list[Message], params: GenParams, held: bool,
                              probe: bool) -> Completion | ModelCallError:
        """A composite backend's call: a slot and the run's go-ahead; its inner calls are metered and retried."""
        if not held:
            probe = await self.acquire()
        self._admit(probe)
        try:
            return await self.backend.generate(messages, params)
        except ModelCallError as exc:
            return exc
        except (asyncio.CancelledError, RunStopped):
            raise
        except Exception as exc:  # a backend bug must not kill the run: the item records it
            return ModelCallError(ErrorKind.OTHER, f"{type(exc).__name__}: {exc}"[:300])
        finally:
            self.cancel(probe)

    async def call_many(self, batch: list[list[Message]], params: GenParams,
                        retry_failed: bool = True) -> list[Completion | ModelCallError]:
        """One `generate_many` for a batching backend (one slot, one request per member on the meter);
        members that failed with a transient error are retried one by one (unless not `retry_failed`: the
        caller retries them)."""
        if not self.metered:
            return [await self._call_composite(m, params, False, False) for m in batch]
        probe = await self.acquire()
        self._admit(probe)
        for _ in batch:
            self.meter.sent(self.name)
        sent_at = self.limiter.clock()
        try:
            with as_sent():
                results = list(await self.backend.generate_many(batch, params))
        except BaseException:
            for _ in batch:
                self.meter.answered(self.name, 0, 0, error=True)
            self.cancel(probe)
            raise
        self.limiter.release()
        first_err = next((r for r in results if isinstance(r, ModelCallError)), None)
        self._feedback(first_err if len(results) and all(isinstance(r, ModelCallError) for r in results) else None,
                       probe, sent_at)
        out: list[Completion | ModelCallError] = []
        for msgs, res in zip(batch, results, strict=True):
            if isinstance(res, Completion):
                self.meter.answered(self.name, res.usage.prompt_tokens, res.usage.completion_tokens)
                out.append(res)
                continue
            self.meter.answered(self.name, 0, 0, error=True)
            if retry_failed and res.kind.transient and self.retry.max_retries > 0:
                self.retries += 1
                self.meter.retried(self.name)
                again, _ = await self.call(msgs, params)
                out.append(again)
            else:
                out.append(res)
        return out


class PolicyBackend(ModelBackend):
    """A backend pinned to a role (and a concurrency and price): its calls go through the ambient scope's guard
    for that role, or its home policy's when no scope is open. Same spec and config (cache keys unchanged)."""

    composite = True

    def __init__(self, inner: ModelBackend, role: str, policy: CallPolicy | None = None,
                 concurrency: int | None = None, price: Price | None = None) -> None:
        super().__init__(inner.spec)
        self.inner = inner
        self.role = role
        self.home = policy
        self.concurrency = concurrency
        self.price = price
        self.max_batch = inner.max_batch
        self.default_concurrency = inner.default_concurrency
        if policy is not None:
            self.guard = policy.guard(inner, role, concurrency, price)

    def config(self) -> dict[str, Any]:
        return self.inner.config()

    def config_hash(self) -> str:
        return self.inner.config_hash()

    def _policy(self) -> CallPolicy | None:
        return current_scope() or self.home

    async def _generate(self, messages: list[Message], params: GenParams) -> Completion:
        policy = self._policy()
        with call_role(self.role), open_scope(policy) if policy is not None else nullcontext():
            if policy is None or self.inner.composite:
                return await self.inner.generate(messages, params)
            result, _ = await policy.guard(self.inner, self.role, self.concurrency, self.price).call(messages, params)
        if isinstance(result, ModelCallError):
            raise result
        return result

    async def _generate_many(self, batch: list[list[Message]],
                             params: GenParams) -> list[Completion | ModelCallError]:
        policy = self._policy()
        if policy is not None and self.inner.max_batch > 1 and len(batch) > 1 and not self.inner.composite:
            with call_role(self.role), open_scope(policy):
                return await policy.guard(self.inner, self.role, self.concurrency, self.price).call_many(
                    batch, params)
        return await super()._generate_many(batch, params)

    async def aclose(self) -> None:
        await self.inner.aclose()

    def __getattr__(self, name: str) -> Any:
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)


class CallPolicy:
    """One per run (or per library call): the retry rule, the budget meter, the price table, and one guard per
    (role, endpoint). Build every model of the run through it; `stop()` stops all of them."""

    def __init__(self, retry: RetryPolicy | None = None, meter: Meter | None = None,
                 prices: PriceTable | None = None, max_wait: float = 900.0, breaker_threshold: int = 8,
                 on_event: Callable[[str], None] | None = None) -> None:
        self.retry = retry or RetryPolicy()
        self.meter = meter or Meter()
        self.prices = prices
        self.max_wait = max_wait
        self.breaker_threshold = breaker_threshold
        self.on_event = on_event
        self.guards: dict[tuple[str, int], CallGuard] = {}
        self._backends: list[ModelBackend] = []  # keeps the keyed backends alive (ids stay unique)
        self.stopped: RunStopped | None = None

    @classmethod
    def from_limits(cls, max_retries: int = 6, max_requests: int | None = None, max_cost: float | None = None,
                    prices: PriceTable | None = None, max_wait: float = 900.0,
                    on_event: Callable[[str], None] | None = None) -> CallPolicy:
        """The policy the CLI options describe (`--max-retries`, `--max-requests`, `--max-cost`, `--max-wait`)."""
        return cls(RetryPolicy(max_retries=max_retries), Meter(max_requests=max_requests, max_cost=max_cost),
                   prices=prices, max_wait=max_wait, on_event=on_event)

    def price_for(self, backend: ModelBackend, name: str, override: Price | None = None) -> Price | None:
        if override is not None:
            return override
        if is_in_process(backend):
            return FREE
        return (self.prices or PriceTable.default()).lookup(name)

    def guard(self, backend: ModelBackend, role: str, concurrency: int | None = None,
              price: Price | None = None) -> CallGuard:
        """The guard of `backend` in `role` (made on first use, one per backend object and role)."""
        if role not in ROLES:
            raise ValueError(f"unknown model role {role!r}; valid: {', '.join(ROLES)}")
        base = model_name(backend)
        key = (role, id(backend))
        found = self.guards.get(key)
        if found is not None:
            return found
        # the model's own name, qualified by the role when another role already uses that endpoint
        name = base if self.meter.role_of.get(base, role) == role else f"{base} ({role})"
        self.meter.register(name, self.price_for(backend, base, price), role=role)

        def event(state: str, msg: str) -> None:
            if self.on_event:
                self.on_event(f"[{name}] {msg}")

        conc = max(1, concurrency or backend.default_concurrency)
        breaker = CircuitBreaker(threshold=self.breaker_threshold, max_wait=self.max_wait, on_change=event)
        g = CallGuard(backend, name, self.meter, conc, retry=self.retry, breaker=breaker,
                      limiter=AdaptiveLimiter(conc), role=role, patient=role == "target")
        g.stopped = self.stopped
        self.guards[key] = g
        self._backends.append(backend)
        return g

    def wrap(self, backend: ModelBackend, role: str, concurrency: int | None = None,
             price: Price | None = None) -> ModelBackend:
        """`backend` pinned to `role` (this policy outside any scope); a backend already pinned is returned as is."""
        if isinstance(backend, PolicyBackend):
            return backend
        return PolicyBackend(backend, role, self, concurrency, price)

    def model(self, spec: str, role: str, concurrency: int | None = None, **options: Any) -> ModelBackend:
        """Build the model `spec` names and put it behind this policy in `role`."""
        return self.wrap(resolve_model(spec, **options), role, concurrency)

    def scope(self) -> Any:
        """Open this policy as the ambient call scope: `with policy.scope(): ...`."""
        return open_scope(self)

    async def send(self, backend: ModelBackend, role: str, messages: list[Message], params: GenParams) -> Completion:
        """One call of a backend made inside this scope (seval.models.base routes every leaf call here)."""
        result, _ = await self.guard(backend, role).call(messages, params)
        if isinstance(result, ModelCallError):
            raise result
        return result

    async def send_many(self, backend: ModelBackend, role: str, batch: list[list[Message]],
                        params: GenParams) -> list[Completion | ModelCallError]:
        """A batching backend's `generate_many` inside this scope: the guard's limiter, breaker and meter."""
        return await self.guard(backend, role).call_many(batch, params)

    def stop(self, exc: RunStopped) -> None:
        """No further request from any model of the run: each raises `exc` instead."""
        if self.stopped is None:
            self.stopped = exc
        for g in self.guards.values():
            g.stopped = g.stopped or exc

    def usage_by_role(self) -> dict[str, dict[str, float | int | None]]:
        """{role: {requests, prompt_tokens, completion_tokens, cost_usd, retries, errors}}."""
        return self.meter.usage_by_role()


def with_policy(backend: ModelBackend, role: str, policy: CallPolicy | None = None,
                concurrency: int | None = None) -> ModelBackend:
    """`backend` pinned to `role`: as is when it already is; its calls go through the ambient call scope
    (a run's policy), or `policy`'s outside any scope.

    Library code that builds its own models (generator, attack rewriter, routers, taggers) uses this so each
    call is counted in its role under the policy of whatever run it is part of.
    """
    if isinstance(backend, PolicyBackend):
        return backend
    if policy is not None:
        return policy.wrap(backend, role, concurrency)
    return PolicyBackend(backend, role, None, concurrency)


def model_in_role(spec: str, role: str, policy: CallPolicy | None = None, concurrency: int | None = None,
                  **options: Any) -> ModelBackend:
    """The model `spec` names, pinned to `role` (and to `policy` when one is given): how critics, defenses
    and routers build the models they call."""
    return with_policy(resolve_model(spec, **options), role, policy, concurrency)


def home_policy(models: list[ModelBackend]) -> CallPolicy | None:
    """The policy the first of `models` was pinned to, if any: the scope a critic used on its own opens."""
    return next((m.home for m in models if isinstance(m, PolicyBackend) and m.home is not None), None)
