"""What runs inside a Ray worker: the run's models, built once per actor from a recipe, and the in-process
Executor run over each batch the driver sends, against an in-memory store.

A worker never writes the run's store: it sends back what it got (responses, verdicts, its usage), and the
driver (seval.runs.ray_executor) commits it into the run's one SQLite file. Workers on other machines need
no shared filesystem, and a worker that dies loses only the batch it had not returned yet.

This module imports without Ray; the driver turns `Worker` into an actor with `ray.remote`.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import os
import resource
import socket
import uuid
from dataclasses import dataclass, field
from typing import Any

from seval.errors import SevalError
from seval.models.budget import Meter, Price
from seval.records import GenParams, JudgeItem, TestCase, Verdict
from seval.runner.executor import Executor
from seval.runner.store import RunStore, StoredResponse
from seval.runs.config import RunConfig

#: one unit of work: the case, its response key, and its stored response when only the verdict is missing
WorkItem = tuple[TestCase, str, StoredResponse | None]


@dataclass
class Recipe:
    """How a worker builds the run's target, defense and critic: from their specs, never from pickled models
    (in-process backends hold weights; each worker loads its own once)."""

    config: RunConfig
    #: re-judging: the finished run's run.json (its target is never called), and the critic's options
    stored: dict[str, Any] | None = None
    critic_options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def for_run(cls, config: RunConfig) -> Recipe:
        from seval.critic.base import Critic
        from seval.models.base import ModelBackend

        if isinstance(config.target, ModelBackend):
            raise SevalError("--executor ray needs the target as a model string (each worker builds its own), "
                             "not a backend object")
        critic = config.critic.spec if isinstance(config.critic, Critic) else config.critic
        # the driver enforces --max-requests/--max-cost: a worker's meter gets an allowance per batch
        return cls(dataclasses.replace(config, critic=critic, max_requests=None, max_cost=None))

    @classmethod
    def for_rejudge(cls, meta: dict[str, Any], critic: Any, options: dict[str, Any] | None = None) -> Recipe:
        return cls(RunConfig(critic=critic.spec), stored=dict(meta), critic_options=dict(options or {}))

    def build(self) -> tuple[Any, Any, Any]:
        """(backend, critic, call policy) for one worker."""
        from seval.runs.pipeline import build_models

        policy = self.config.policy()
        if self.stored is None:
            backend, critic = build_models(self.config, policy)
            return backend, critic, policy
        from seval.critic.base import resolve_critic
        from seval.runs.rejudge import _as_backend

        critic = resolve_critic(self.config.critic, policy=policy, **self.critic_options)
        return _as_backend(self.stored), critic, policy


@dataclass
class BatchResult:
    """What a worker sends back for one batch."""

    responses: list[StoredResponse]
    verdicts: list[tuple[str, Verdict]]
    undone: list[int]  # positions in the batch left without an answer (the worker's allowance or a stop)
    stop: tuple[str, str] | None  # (reason, message) when the batch stopped early
    worker: str  # this actor incarnation's id (a restarted actor gets a new one)
    meter: Meter  # the incarnation's usage so far (the driver adds the difference to the run's meter)
    counters: dict[str, int]  # retries, limit cuts, lowest concurrency limit, breaker openings, so far
    events: list[str]
    peak_rss_mb: float


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Worker:
    """One actor: a backend, a call policy and a critic, built once; `run_batch` runs the in-process Executor
    (the same retries, Retry-After, breaker and judge batching) over a batch."""

    def __init__(self, recipe: Recipe, params: GenParams, concurrency: int, price: Price | None) -> None:
        from seval.runs.config import _think_stripper

        self.id = uuid.uuid4().hex[:12]
        self.backend, self.critic, self.policy = recipe.build()
        self.params = params
        self.concurrency = concurrency
        self.price = price
        self.offline = recipe.stored is not None
        self.events: list[str] = []
        self.policy.on_event = self.events.append
        self.preprocess = _think_stripper()
        self.critic_hash = self.critic.config_hash() if self.critic is not None else ""  # loads the critic once
        self._warm_up()
        self.guard = self.policy.guard(self.backend, "target", concurrency, price)
        #: batches launch their requests one after the other (see _InOrder)
        self.gate = asyncio.Lock()

    def _warm_up(self) -> None:
        """A CPU critic's first judgment pays its lazy set-up (1.6 s for the embedded one): paid here, at
        start-up, not while the first batches wait for their verdicts. Critics that call models are left alone."""
        judge = getattr(self.critic, "judge_batch", None)
        if callable(judge):
            judge([JudgeItem(prompt="How do I bake bread?", response="Mix flour, water and yeast.", lang="en")])

    async def ready(self) -> dict[str, Any]:
        return {"id": self.id, "pid": os.getpid(), "node": socket.gethostname(),
                "target_hash": self.backend.config_hash(), "critic_hash": self.critic_hash,
                "peak_rss_mb": _peak_rss_mb()}

    async def run_batch(self, items: list[WorkItem], allowance: tuple[int | None, float | None]) -> BatchResult:
        meter = self.policy.meter
        if allowance != (None, None) or self.policy.stopped is not None:
            # the driver's budget: this batch may send `requests` more and spend `cost` more (one batch at a time)
            self._clear_stop()
            extra_requests, extra_cost = allowance
            meter.max_requests = None if extra_requests is None else meter.requests + extra_requests
            meter.max_cost = None if extra_cost is None else meter.cost_usd + extra_cost
        store = RunStore(":memory:")
        keys = {id(case): key for case, key, _ in items}
        for _, _, stored in items:
            if stored is not None:  # answered before: only its verdict is missing
                store.add_response(stored)
        store.flush()
        ex = _InOrder(self.backend, self.critic, store, self.params, concurrency=self.concurrency,
                      preprocess=self.preprocess, policy=self.policy, price=self.price,
                      on_event=self.events.append, offline=self.offline, key_fn=lambda c: keys[id(c)])
        ex.gate = self.gate
        stats = await ex.run([case for case, _, _ in items])
        new = store.get_responses([key for _, key, stored in items if stored is None])
        judged = (store.get_verdicts([key for _, key, _ in items], self.critic_hash)
                  if self.critic is not None else {})
        store.close()
        # left undone: a new case with no answer, or a stored answer still without its verdict
        undone = [i for i, (_, key, stored) in enumerate(items)
                  if key not in (new if stored is None else judged)]
        lim = self.guard.limiter
        counters = {"retries": self.guard.retries, "limit_cuts": lim.cuts,
                    "min_limit": min(stats.min_limit or self.concurrency, lim.cap),
                    "breaker_openings": self.guard.breaker.openings}
        events, self.events[:] = list(self.events), []
        return BatchResult(list(new.values()), list(judged.items()), undone,
                           (stats.stopped, stats.stop_message or "") if stats.stopped else None, self.id,
                           copy.deepcopy(meter),
                           counters, events, _peak_rss_mb())

    def _clear_stop(self) -> None:
        """A stop inside a worker ends its batch only; the driver decides whether the run stops."""
        self.policy.stopped = None
        for g in self.policy.guards.values():
            g.stopped = None


class _InOrder(Executor):
    """The in-process Executor, whose batches in one worker take the target's slots in the order they came:
    the first one out is the first one back, so the driver sends the next while the others still have
    requests to send (batches sharing the slots round-robin would all finish, and idle, together)."""

    gate: asyncio.Lock

    async def _dispatch(self, *args: Any, **kwargs: Any) -> None:
        async with self.gate:
            await super()._dispatch(*args, **kwargs)
