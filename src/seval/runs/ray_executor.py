"""The Ray executor (`--executor ray`): the run pipeline's work spread over a pool of Ray actors.

The driver plans exactly like the in-process Executor (same keys, same store look-up, same sorting of what is
left to do) and sends batches of work items to worker actors (seval.runs.ray_worker), each of which runs the
in-process Executor with its own backend, call policy and critic, built once. Results come back as values
and the driver commits them into the run's one SQLite store as they arrive ("workers return shards, the
driver merges"): workers need no shared filesystem, a killed worker loses only its batches in flight (Ray
restarts it and runs them again, or the driver sends them to another worker), and a killed driver loses
only the batches in flight: the same command sends only what has no stored result.

Budgets (--max-requests/--max-cost) are the driver's: each batch gets an allowance out of what is left
(one batch per worker at a time then), so the run never sends more than the in-process one would.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import deque
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

from seval.errors import SevalError
from seval.models.budget import Meter, ModelUsage, is_in_process
from seval.models.retry import BudgetReached, EndpointDown, RunStopped
from seval.records import TestCase
from seval.runner.executor import CHUNK, Executor, ProgressFn, RunStats, _k
from seval.runs.ray_worker import BatchResult, Recipe, Worker, WorkItem

INSTALL_HINT = "the Ray executor needs Ray: pip install 'seval[ray]'"
#: batches a worker runs at once (so its requests never drain between two batches); 1 under a budget
BATCHES_PER_WORKER = 3
#: cases per worker given to an HTTP target's worker at least (more workers than that only add overhead)
MIN_PER_WORKER = 8
STOPS: dict[str, type[RunStopped]] = {"budget": BudgetReached, "endpoint_down": EndpointDown}


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise SevalError(INSTALL_HINT) from None
    return ray


def actor_options(backend: Any) -> dict[str, Any]:
    """The Ray resources one worker needs: the backend's `ray_actor_options` (through wrappers such as a
    defense), else one CPU."""
    b = backend
    for _ in range(5):
        opts = getattr(type(b), "ray_actor_options", None) or getattr(b, "ray_actor_options", None)
        if opts:
            return {"num_cpus": 1, **dict(opts)}
        b = getattr(b, "inner", None)
        if b is None:
            break
    return {"num_cpus": 1}


def pool_size(resources: dict[str, float], options: dict[str, Any], concurrency: int, in_process: bool) -> int:
    """How many workers the cluster's resources allow (HTTP targets: at most one per MIN_PER_WORKER requests)."""
    n = math.inf
    for opt, res in (("num_cpus", "CPU"), ("num_gpus", "GPU")):
        need = float(options.get(opt) or 0)
        if need > 0:
            n = min(n, resources.get(res, 0.0) // need)
    for res, need in (options.get("resources") or {}).items():
        n = min(n, resources.get(res, 0.0) // float(need))
    if n == math.inf:
        n = resources.get("CPU", 1.0)
    if not in_process:
        n = min(n, max(1, concurrency // MIN_PER_WORKER))
    return int(n)


class RayExecutor(Executor):
    """The Executor's interface (`run`, `key_for`, `info_line`, stats), its work done by Ray actors."""

    def __init__(self, *args: Any, recipe: Recipe | None = None, address: str | None = None,
                 workers: int | None = None, batch: int | None = None, **kwargs: Any) -> None:
        self.ray = import_ray()
        if recipe is None:
            raise SevalError("this run cannot be spread over Ray workers (no recipe to rebuild its models)")
        self.requested_concurrency = kwargs.get("concurrency")
        super().__init__(*args, **kwargs)
        self.recipe = recipe
        self.address = address
        self.n_workers = workers
        self.batch = batch
        self.actors: list[Any] = []
        self.alive: list[bool] = []
        self.load: list[int] = []
        self._meters: dict[str, Meter] = {}
        self._counters: dict[str, dict[str, int]] = {}
        self._rss: dict[str, float] = {}
        self._commit_s = 0.0
        self._committed = 0
        self._out_items = 0
        self._started_ray = False
        #: written into run.json ("executor"): workers, start-up seconds, store commit rate, memory
        self.run_info: dict[str, Any] = {}

    # ---- the pool -----------------------------------------------------------------------------------------
    def _init(self) -> None:
        """Start a local Ray instance or join the cluster at `address` (in the calling thread: Ray sets its
        signal handlers in the main one); a process already connected to Ray keeps its connection."""
        ray = self.ray
        if ray.is_initialized():
            if self.address:
                raise SevalError("Ray is already initialised in this process: give no --ray-address")
            return
        try:
            ctx = ray.init(address=self.address, log_to_driver=False)
        except ConnectionError as exc:
            raise SevalError(f"cannot join the Ray cluster at {self.address}: {exc}") from None
        self._started_ray = True
        dashboard = getattr(ctx, "dashboard_url", None)
        if dashboard and self.on_event:
            self.on_event(f"Ray dashboard: http://{dashboard}")

    def _start(self, critic_hash: str) -> None:
        """Start the worker pool and wait until every worker has built its models; blocking (in a thread)."""
        ray = self.ray
        opts = actor_options(self.backend)
        in_process = is_in_process(self.backend)
        total = self.concurrency
        n = self.n_workers or pool_size(ray.cluster_resources(), opts, total, in_process)
        if n < 1:
            raise SevalError(f"the Ray cluster has no room for a worker of {self.backend.spec} (each needs {opts}; "
                             f"the cluster has {ray.cluster_resources()})")
        if in_process and self.requested_concurrency is None:
            per = self.backend.default_concurrency  # each worker holds its own copy of the weights
        else:
            per = max(1, math.ceil(total / n))
        self.per_worker = per
        base = max(8, 2 * per, 2 * int(self.backend.max_batch))
        self.batch_size = self.batch or base
        budget = self.meter.max_requests is not None or self.meter.max_cost is not None
        self.per_actor = 1 if budget else BATCHES_PER_WORKER
        cls = ray.remote(Worker).options(max_restarts=2, max_task_retries=2, max_concurrency=self.per_actor, **opts)
        self.actors = [cls.remote(self.recipe, self.params, per, self.price) for _ in range(n)]
        self.alive = [True] * n
        self.load = [0] * n
        infos = ray.get([a.ready.remote() for a in self.actors])
        for info in infos:
            if info["target_hash"] != self.target_hash or info["critic_hash"] != critic_hash:
                raise SevalError(f"a Ray worker on {info['node']} built another configuration of the target or "
                                 "critic than the driver (different seval version, files or environment?)")
            self._rss[info["id"]] = info["peak_rss_mb"]
        self.run_info.update({"kind": "ray", "workers": n, "concurrency_per_worker": per,
                              "batch": self.batch_size, "batches_per_worker": self.per_actor,
                              "actor_options": opts,
                              "nodes": sorted({i["node"] for i in infos}),
                              "address": self.address or ("local" if self._started_ray else "joined")})

    def _stop_pool(self) -> None:
        """Kill the workers; leave a joined cluster. A local instance started here stays up until this process
        exits (Ray's own exit hook stops it, 1-2 s): the next run in the process reuses it."""
        for a in self.actors:
            with contextlib.suppress(Exception):  # already gone
                self.ray.kill(a)
        if self._started_ray and self.address:
            self.ray.shutdown()

    def _pick(self) -> int | None:
        """The live worker with the fewest batches out, if it can take one more."""
        best = None
        for i, ok in enumerate(self.alive):
            if ok and self.load[i] < self.per_actor and (best is None or self.load[i] < self.load[best]):
                best = i
        return best

    def _size(self, pending: int, more: bool, allowed: int | None) -> int:
        """The next batch's size: the configured one, less when the budget allows fewer requests; near the
        end, the cases left are split over every free slot, so no worker finishes long after the others."""
        size = self.batch_size if allowed is None else min(self.batch_size, allowed)
        if not more:
            slots = max(1, sum(self.per_actor - load for ok, load in zip(self.alive, self.load, strict=True) if ok))
            size = min(size, max(MIN_PER_WORKER, math.ceil(pending / slots)))
        return size

    # ---- budget -------------------------------------------------------------------------------------------
    def _allowance(self, grants: Iterable[tuple[int | None, float | None]], n_items: int,
                   ) -> tuple[int | None, float | None] | None:
        """What the next batch may send and spend, out of the run's budget less the batches out; None: nothing."""
        m = self.meter
        if m.max_requests is None and m.max_cost is None:
            return (None, None)
        out = list(grants)
        live = max(1, sum(self.alive))
        req: int | None = None
        cost: float | None = None
        if m.max_requests is not None:
            free = m.max_requests - m.requests - sum(g[0] or 0 for g in out)
            if free <= 0:
                return None
            req = max(1, min(free // live or 1, 2 * n_items))
        if m.max_cost is not None:
            free_c = m.max_cost - m.cost_usd - sum(g[1] or 0.0 for g in out)
            if free_c <= 0:
                return None
            cost = free_c / live
        return (req, cost)

    # ---- results ------------------------------------------------------------------------------------------
    def _absorb(self, res: BatchResult) -> None:
        """Commit a batch's results and add its usage to the run's meter and stats."""
        t0 = time.perf_counter()
        for r in res.responses:
            self.store.add_response(r)
        for key, v in res.verdicts:
            self.store.add_verdict(key, v)
        self._flush()  # a store that cannot be written stops the run, its rows kept pending
        self._commit_s += time.perf_counter() - t0
        self._committed += len(res.responses) + len(res.verdicts)
        s = self.stats
        for r in res.responses:
            s.called += 1
            self._count(r)
            s.prompt_tokens += r.prompt_tokens
            s.completion_tokens += r.completion_tokens
        s.judged += len(res.verdicts)
        self._add_usage(res.worker, res.meter)
        self._counters[res.worker] = res.counters
        self._rss[res.worker] = max(self._rss.get(res.worker, 0.0), res.peak_rss_mb)
        if self.on_event:
            for e in res.events:
                self.on_event(e)

    def _add_usage(self, worker: str, m: Meter) -> None:
        """The worker's usage since its last batch, added to the run's meter (requests, tokens, cost)."""
        prev = self._meters.get(worker) or Meter()
        self._meters[worker] = m
        d = self.meter
        for name, u in m.models.items():
            role = m.role_of.get(name, "target")
            if name not in d.models:
                d.register(name, m.prices.get(name), role=role)
            p = prev.models.get(name) or ModelUsage()
            delta = ModelUsage(u.requests - p.requests, u.prompt_tokens - p.prompt_tokens,
                               u.completion_tokens - p.completion_tokens,
                               None if u.cost_usd is None else u.cost_usd - (p.cost_usd or 0.0),
                               u.retries - p.retries, u.errors - p.errors)
            for target in (d.models[name], d.roles.setdefault(role, ModelUsage())):
                target.requests += delta.requests
                target.prompt_tokens += delta.prompt_tokens
                target.completion_tokens += delta.completion_tokens
                target.retries += delta.retries
                target.errors += delta.errors
                if delta.cost_usd is None or target.cost_usd is None:
                    target.cost_usd = None
                else:
                    target.cost_usd += delta.cost_usd
            d.requests += delta.requests
            d.cost_usd += delta.cost_usd or 0.0

    # ---- the run -----------------------------------------------------------------------------------------
    async def run(self, cases: Iterable[TestCase], on_progress: ProgressFn | None = None) -> RunStats:
        t0 = time.perf_counter()
        set_info = getattr(on_progress, "set_info", None)

        def done(n: int = 1) -> None:
            if on_progress and n:
                on_progress(n)

        tick: asyncio.Task[None] | None = None
        try:
            t_start = time.perf_counter()
            # the driver's critic hash (loading its weights) in a thread while Ray starts
            hashing = asyncio.ensure_future(asyncio.to_thread(self.critic.config_hash)) if self.critic else None
            self._init()
            t_init = time.perf_counter()
            critic_hash = await hashing if hashing is not None else ""
            await asyncio.to_thread(self._start, critic_hash)
            now = time.perf_counter()
            # start-up: ray.init (a local instance, or joining a cluster) + every worker ready (seval imported,
            # models built, the critic loaded and warmed up)
            self.run_info.update({"startup_s": round(now - t_start, 3), "ray_init_s": round(t_init - t_start, 3),
                                  "workers_ready_s": round(now - t_init, 3)})

            async def ticker() -> None:
                while set_info is not None:
                    set_info(self.info_line())
                    await asyncio.sleep(0.5)

            tick = asyncio.create_task(ticker())
            await self._loop(iter(cases), critic_hash, done)
        finally:
            if tick is not None:
                tick.cancel()
            t_stop = time.perf_counter()
            await asyncio.to_thread(self._stop_pool)
            self.run_info["shutdown_s"] = round(time.perf_counter() - t_stop, 3)
            self.stats.wall_s += time.perf_counter() - t0
            self._finish_stats()
            if set_info is not None:
                set_info(self.info_line())
        return self.stats

    def _read(self, it: Iterator[TestCase], critic_hash: str, pending: deque[WorkItem], done: ProgressFn) -> bool:
        """Look the next chunk up in the store and queue what it needs; False when the cases are exhausted."""
        chunk = list(islice(it, CHUNK))
        if not chunk:
            return False
        keys = [self.key_for(c) for c in chunk]
        have = self.store.get_responses(keys)
        judged = (self.store.get_verdicts([k for k in keys if k in have], critic_hash)
                  if self.critic is not None and have else {})
        todo, to_judge, finished = self.sort(chunk, keys, have, judged)
        done(finished)
        if self.offline:  # re-judging: a case without a stored answer stays not run
            self.stats.not_run += len(todo)
            done(len(todo))
            todo = []
        pending.extend((c, k, None) for c, k in todo)
        pending.extend((c, k, have[k]) for c, k, _ in to_judge)
        return True

    async def _loop(self, it: Iterator[TestCase], critic_hash: str, done: ProgressFn) -> None:
        ray = self.ray
        pending: deque[WorkItem] = deque()
        out: dict[asyncio.Future[Any], tuple[int, list[WorkItem], tuple[int | None, float | None]]] = {}
        more = True
        low_water = self.batch_size * max(1, len(self.actors)) * self.per_actor * 2
        while True:
            while more and self._stop is None and len(pending) < low_water:
                more = self._read(it, critic_hash, pending, done)
            while self._stop is None and pending and (len(pending) >= self.batch_size or not more):
                worker = self._pick()
                if worker is None:
                    break
                allowance = self._allowance((v[2] for v in out.values()), min(len(pending), self.batch_size))
                if allowance is None:
                    if not out:  # nothing left of the budget and nothing out: the run stops here
                        try:
                            self.meter.check()
                            raise BudgetReached(f"reached --max-requests {self.meter.max_requests}")
                        except RunStopped as exc:
                            self._set_stop(exc)
                    break
                size = self._size(len(pending), more, allowance[0])
                items = [pending.popleft() for _ in range(min(size, len(pending)))]
                ref = self.actors[worker].run_batch.remote(items, allowance)
                out[asyncio.wrap_future(ref.future())] = (worker, items, allowance)
                self.load[worker] += 1
                self._out_items += len(items)
            if not out:
                if self._stop is not None or (not more and not pending):
                    break
                continue
            finished, _ = await asyncio.wait(list(out), return_when=asyncio.FIRST_COMPLETED)
            for fut in finished:
                worker, items, _allow = out.pop(fut)
                self.load[worker] -= 1
                self._out_items -= len(items)
                try:
                    res: BatchResult = fut.result()
                except ray.exceptions.RayActorError as exc:  # the worker died for good: others take its batch
                    self.alive[worker] = False
                    if self.on_event:
                        self.on_event(f"a Ray worker died ({type(exc).__name__}); its batch goes to another")
                    if not any(self.alive):
                        raise SevalError("every Ray worker died; what was returned is stored: re-run the same "
                                         "command to continue") from None
                    pending.extendleft(reversed(items))
                    continue
                except ray.exceptions.RayTaskError as exc:
                    raise SevalError(f"a Ray worker failed: {str(exc).strip().splitlines()[-1]}") from None
                self._absorb(res)
                undone = set(res.undone)
                done(len(items) - len(undone))
                left = [items[i] for i in sorted(undone)]
                if res.stop is not None and res.stop[0] != "budget":
                    self._set_stop(STOPS.get(res.stop[0], RunStopped)(res.stop[1]))
                if self._stop is None:
                    pending.extendleft(reversed(left))  # stopped by its allowance only: done again later
                else:
                    self.stats.not_run += len(left)
                    done(len(left))
        # stopped early: what was never sent is not run, like the in-process executor
        self.stats.not_run += len(pending)
        done(len(pending))
        for _ in it:
            self.stats.total += 1
            self.stats.not_run += 1
            done()

    def _finish_stats(self) -> None:
        s = self.stats
        counters = list(self._counters.values())
        s.retries = sum(c["retries"] for c in counters)
        s.limit_cuts = sum(c["limit_cuts"] for c in counters)
        s.min_limit = min((c["min_limit"] for c in counters), default=self.concurrency)
        s.breaker_openings = sum(c["breaker_openings"] for c in counters)
        s.usage = self.meter.to_dict()
        if self._stop is not None:
            s.stopped = self._stop.reason
            s.stop_message = self._stop.message
        rate = self._committed / self._commit_s if self._commit_s else None
        self.run_info.update({"store_rows": self._committed, "store_commit_s": round(self._commit_s, 3),
                              "store_rows_per_s": round(rate) if rate else None,
                              "worker_peak_rss_mb": round(sum(self._rss.values()), 1),
                              "worker_incarnations": len(self._rss)})

    def info_line(self) -> str:
        pt, ct = self.meter.tokens
        cost = f"${self.meter.cost_usd:.4f}" if self.meter.cost_known else "$n/a"
        parts = [f"tok {_k(pt)}/{_k(ct)}", cost, f"ray {sum(self.alive)} workers, {self._out_items} cases out"]
        retries = sum(c["retries"] for c in self._counters.values())
        if retries:
            parts.append(f"retries {retries}")
        if self._stop is not None:
            parts.append(f"stopping: {self._stop.message}")
        return "  ".join(parts)


__all__ = ["INSTALL_HINT", "RayExecutor", "actor_options", "import_ray", "pool_size"]
