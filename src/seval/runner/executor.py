"""The async executor: test cases x one target, with the critic in the loop, at scale.

Cases stream through in chunks (bounded memory); finished work is looked up in the run store first, so an
interrupted run resumes without calling the model again. Each new request goes through the target's
CallGuard from the run's CallPolicy (adaptive concurrency, retries, circuit breaker, budget); the critic's
models were built with the same policy, so their calls are metered and stopped with the run's. Every case
ends in exactly one state:
ok, content_filter, error (with its kind) -- or, when the run stops early (budget, endpoint down), not_run,
left unrecorded so the same command continues it. Rows are committed on the event-loop tick after they
complete, so kill -9 loses at most the answers of one tick.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from seval.critic.base import Critic
from seval.models.base import ModelBackend, build_messages
from seval.models.budget import Price, model_name
from seval.models.policy import CallPolicy
from seval.models.retry import BudgetReached, EndpointDown, RetryPolicy, RunStopped
from seval.records import Completion, GenParams, JudgeItem, ModelCallError, TestCase, Verdict, stable_hash
from seval.runner.store import RunStore, StoredResponse, StoreUnwritable

__all__ = ["CHUNK", "BudgetReached", "EndpointDown", "Executor", "RetryPolicy", "RunStats", "RunStopped",
           "error_line", "response_key", "too_many_errors"]

CHUNK = 512  # cases looked up in the store at once; bounds memory on huge benchmarks


def response_key(target_hash: str, messages: list[dict[str, str]], params: GenParams) -> str:
    return stable_hash({"t": target_hash, "m": messages, "p": params.to_dict()})


@dataclass
class RunStats:
    total: int = 0
    cached: int = 0
    called: int = 0  # cases sent to the model in this invocation
    judged: int = 0
    not_run: int = 0  # cases left for the next invocation (the run stopped early)
    unsaved: int = 0  # answers that came back but could not be stored (the store's disk was full)
    states: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    error_samples: dict[str, str] = field(default_factory=dict)  # one message per error kind, to name the problem
    prompt_tokens: int = 0
    completion_tokens: int = 0
    retries: int = 0
    limit_cuts: int = 0
    min_limit: int = 0
    breaker_openings: int = 0
    wall_s: float = 0.0
    stopped: str | None = None  # None: ran to the end; else budget | endpoint_down
    stop_message: str | None = None
    usage: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        states = dict(self.states)
        if self.not_run:
            states["not_run"] = self.not_run
        return {"total": self.total, "cached": self.cached, "called": self.called, "judged": self.judged,
                "states": states, "errors": dict(self.errors), "error_samples": dict(self.error_samples),
                "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens,
                "tokens": self.prompt_tokens + self.completion_tokens,
                "cost_usd": self.usage.get("cost_usd"), "requests": self.usage.get("requests", 0),
                "models": self.usage.get("models", {}), "roles": self.usage.get("roles", {}),
                "retries": self.retries, "limit_cuts": self.limit_cuts,
                "min_limit": self.min_limit, "breaker_openings": self.breaker_openings,
                "unsaved": self.unsaved, "complete": self.stopped is None, "stopped": self.stopped, "stop_message": self.stop_message,
                "wall_s": round(self.wall_s, 3)}


class ProgressFn(Protocol):
    """Told how many cases finished (default 1)."""

    def __call__(self, n: int = 1) -> None: ...



class Executor:
    """Runs cases against one backend and one critic, writing everything to the store."""

    def __init__(self, backend: ModelBackend, critic: Critic | None, store: RunStore, params: GenParams,
                 concurrency: int | None = None, judge_batch: int = 64,
                 flush_every: int = 1024, preprocess: Callable[[str], str] | None = None,
                 policy: CallPolicy | None = None, price: Price | None = None,
                 on_event: Callable[[str], None] | None = None, offline: bool = False,
                 key_fn: Callable[[TestCase], str] | None = None) -> None:
        self.backend = backend
        self.critic = critic
        self.store = store
        self.params = params
        self.concurrency = max(1, concurrency or backend.default_concurrency)
        self.judge_batch = judge_batch
        self.flush_every = flush_every
        self.preprocess = preprocess  # e.g. strip <think> blocks before judging
        self.target_hash = backend.config_hash()
        self.stats = RunStats()
        #: the run's call policy: the critic's models must be built with the same one to share its budget
        self.policy = policy or CallPolicy(on_event=on_event)
        self.meter = self.policy.meter
        self.price = price
        self.on_event = on_event
        #: offline: answers only come from the store (re-judging a run); a case with none stays not_run
        self.offline = offline
        self.key_fn = key_fn  # how a case finds its stored response when not by its messages ("" = none)
        self.model = model_name(backend)
        #: the target's slots; for a composite target (a defended model) its inner model's guard meters the
        #: requests (the answer and each re-answer), the one `stats_guard` reports on
        self.guard = self.policy.guard(backend, "target", self.concurrency, price)
        self.stats_guard = self.policy.guard(leaf_backend(backend), "target", self.concurrency, price)
        self._stop: RunStopped | None = None
        self._flush_scheduled = False
        self._pdict: dict[str, Any] | None = None
        self._slots = asyncio.Semaphore(1)
        self._critic_hash: asyncio.Future[str] | None = None
        #: critics with a synchronous `judge_batch` (embedded) are CPU-bound: judged in a worker thread
        cpu = getattr(critic, "judge_batch", None)
        self._cpu_judge: Callable[[list[JudgeItem]], list[Verdict]] | None = cpu if callable(cpu) else None

    # ---- keys and records -----------------------------------------------------------------------------------
    def key_for(self, case: TestCase) -> str:
        """Same value as `response_key(...)`, with the parameters' dict computed once per run."""
        if self.key_fn is not None:
            return self.key_fn(case)
        if self._pdict is None:
            self._pdict = self.params.to_dict()
        msgs = build_messages(case.prompt, self.params, case.turns)
        return stable_hash({"t": self.target_hash, "m": msgs, "p": self._pdict})

    def _record(self, case: TestCase, key: str, result: Completion | ModelCallError, tries: int) -> StoredResponse:
        if isinstance(result, Completion):
            u = result.usage
            self.stats.prompt_tokens += u.prompt_tokens
            self.stats.completion_tokens += u.completion_tokens
            r = StoredResponse(key, case.id, self.backend.spec, "ok", result.text, None, None,
                               u.prompt_tokens, u.completion_tokens, result.latency_s, tries)
        else:
            status = "content_filter" if result.kind.value == "content_filter" else "error"
            r = StoredResponse(key, case.id, self.backend.spec, status, None, result.kind.value,
                               result.message[:500], 0, 0, 0.0, tries)
        self.store.add_response(r)
        self._schedule_flush()
        self.stats.called += 1
        self._count(r)
        return r

    def _count(self, r: StoredResponse) -> None:
        self.stats.states[r.status] += 1
        if r.error_kind:
            self.stats.errors[r.error_kind] += 1
            self.stats.error_samples.setdefault(r.error_kind, r.error or "")

    def _schedule_flush(self) -> None:
        """Commit on the next loop tick: everything finished in one tick goes in one transaction."""
        if self.store.pending >= self.flush_every:
            self._flush()
        elif not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush_now)

    def _flush_now(self) -> None:
        self._flush_scheduled = False
        self._flush()

    def _flush(self) -> None:
        """Commit; a store that cannot be written stops the run (no more requests) and keeps the rows pending."""
        try:
            self.store.flush()
        except StoreUnwritable as exc:
            self._set_stop(exc)

    def _set_stop(self, exc: RunStopped) -> None:
        if self._stop is None:
            self._stop = exc
            self.policy.stop(exc)
            if self.on_event:
                self.on_event(f"stopping: {exc.message}; finishing the requests in flight")

    def _judge_item(self, case: TestCase, text: str) -> JudgeItem:
        if self.preprocess:
            text = self.preprocess(text)
        return JudgeItem(prompt=case.prompt, response=text, lang=case.lang, dimension=case.dimension,
                         category=case.category, risk=case.risk, id=case.id)

    # ---- the run -----------------------------------------------------------------------------------------
    async def run(self, cases: Iterable[TestCase], on_progress: ProgressFn | None = None) -> RunStats:
        """Every case to one end state; every model call made meanwhile (the target's, the critic's, the
        defense's) goes through the run's policy, opened as the ambient call scope."""
        with self.policy.scope():
            return await self._run(cases, on_progress)

    async def _run(self, cases: Iterable[TestCase], on_progress: ProgressFn | None) -> RunStats:
        t0 = time.perf_counter()
        judge_q: asyncio.Queue[tuple[TestCase, str, str] | None] = asyncio.Queue(maxsize=self.judge_batch * 4)
        # the critic's hash can mean loading its weights (embedded: about a second): it loads in a worker
        # thread while the first requests are already out, and is awaited only where a verdict is looked up
        self._critic_hash = (asyncio.ensure_future(asyncio.to_thread(self.critic.config_hash))
                             if self.critic is not None else None)
        critic_hash = ""
        tasks: set[asyncio.Task[None]] = set()
        set_info = getattr(on_progress, "set_info", None)

        def done(n: int = 1) -> None:
            if on_progress:
                on_progress(n)

        async def item(case: TestCase, key: str, probe: bool) -> None:
            try:
                messages = build_messages(case.prompt, self.params, case.turns)
                try:
                    result, tries = await self.guard.call(messages, self.params, held=True, probe=probe)
                except RunStopped as exc:
                    self._set_stop(exc)
                    self.stats.not_run += 1
                    done()
                    return
                r = self._record(case, key, result, tries)
                if r.status == "ok" and self.critic is not None:
                    await judge_q.put((case, key, r.text or ""))
                else:
                    done()
            finally:
                self._slots.release()

        async def judge_batch(batch: list[tuple[TestCase, str, str]]) -> None:
            verdicts = await self._judge(batch)
            if verdicts is None:  # the run stopped inside the critic: these stay unjudged for the next run
                done(len(batch))
                return
            for (_case, key, _text), v in zip(batch, verdicts, strict=True):
                self.store.add_verdict(key, v)
            self._schedule_flush()
            self.stats.judged += len(batch)
            done(len(batch))

        async def judge_loop() -> None:
            # gathers up to judge_batch answers, or whatever arrived within 50 ms, per critic call
            batch: list[tuple[TestCase, str, str]] = []
            if self._critic_hash is not None:
                await self._critic_hash  # the critic is loaded once, by that thread
            while True:
                try:
                    got = await asyncio.wait_for(judge_q.get(), timeout=0.05 if batch else None)
                except TimeoutError:
                    await judge_batch(batch)
                    batch = []
                    continue
                if got is None:
                    if batch:
                        await judge_batch(batch)
                    return
                batch.append(got)
                if len(batch) >= self.judge_batch:
                    await judge_batch(batch)
                    batch = []

        async def ticker() -> None:
            while set_info is not None:
                set_info(self.info_line())
                await asyncio.sleep(0.5)

        # live item tasks (in flight, backing off, or waiting for the critic): bounded, so a fast endpoint and
        # a slower critic cannot pile up finished items in memory
        self._slots = asyncio.Semaphore(self.concurrency * 4 + 64)
        judger = asyncio.create_task(judge_loop()) if self.critic is not None else None
        tick = asyncio.create_task(ticker())
        batch_mode = self.backend.max_batch > 1
        try:
            chunk: list[TestCase] = []
            for case in cases:
                if self._stop is not None:
                    self.stats.total += 1
                    self.stats.not_run += 1
                    done()
                    continue
                chunk.append(case)
                if len(chunk) >= CHUNK:
                    await self._dispatch(chunk, judge_q, critic_hash, done, item, tasks, batch_mode)
                    chunk = []
            if chunk:
                await self._dispatch(chunk, judge_q, critic_hash, done, item, tasks, batch_mode)
            if tasks:
                await asyncio.gather(*list(tasks))
            if judger is not None:
                await judge_q.put(None)
                await judger
        finally:
            for t in [*tasks, *([judger] if judger else []), tick]:
                t.cancel()
            if self._critic_hash is not None and not self._critic_hash.done():
                self._critic_hash.cancel()
            self._flush()
            self.stats.unsaved = self.store.unsaved
            self.stats.wall_s += time.perf_counter() - t0
            self._finish_stats()
            if set_info is not None:
                set_info(self.info_line())
        return self.stats

    def _finish_stats(self) -> None:
        s = self.stats
        g = self.stats_guard
        s.retries = g.retries
        s.limit_cuts = g.limiter.cuts
        s.min_limit = min(s.min_limit or self.concurrency, g.limiter.cap)
        s.breaker_openings = g.breaker.openings
        s.usage = self.meter.to_dict()
        if self._stop is not None:
            s.stopped = self._stop.reason
            s.stop_message = self._stop.message

    def info_line(self) -> str:
        """Tokens, cost, current concurrency and any pause, for the progress line."""
        pt, ct = self.meter.tokens
        cost = f"${self.meter.cost_usd:.4f}" if self.meter.cost_known else "$n/a"
        g = self.stats_guard
        lim = g.limiter
        self.stats.min_limit = min(self.stats.min_limit or self.concurrency, lim.cap)
        parts = [f"tok {_k(pt)}/{_k(ct)}", cost, f"conc {lim.in_flight}/{lim.cap}"]
        if g.retries:
            parts.append(f"retries {g.retries}")
        if lim.paused_for > 0:
            parts.append(f"rate-limited: paused {lim.paused_for:.0f}s")
        status = g.breaker.status()
        if status:
            parts.append(status)
        if self._stop is not None:
            parts.append(f"stopping: {self._stop.message}")
        return "  ".join(parts)

    async def _judge(self, batch: list[tuple[TestCase, str, str]]) -> list[Verdict] | None:
        assert self.critic is not None
        items = [self._judge_item(c, t) for c, _k, t in batch]
        try:
            if self._cpu_judge is not None:  # a CPU-bound critic works in a thread: requests keep flowing
                verdicts = await asyncio.to_thread(self._cpu_judge, items)
            else:
                verdicts = await self.critic.judge(items)
        except RunStopped as exc:
            self._set_stop(exc)
            return None
        except Exception as exc:  # a failing critic yields invalid verdicts, never safe ones
            verdicts = [self.critic.verdict("invalid", None, f"critic error: {type(exc).__name__}: {exc}"[:300])
                        for _ in items]
        if len(verdicts) != len(items):
            verdicts = [self.critic.verdict("invalid", None, "critic returned a wrong number of verdicts")
                        for _ in items]
        return verdicts

    async def _dispatch(self, chunk: list[TestCase], judge_q: asyncio.Queue[Any], critic_hash: str,
                        done: ProgressFn, item: Callable[..., Any], tasks: set[asyncio.Task[None]],
                        batch_mode: bool) -> None:
        keys = [self.key_for(c) for c in chunk]
        have = self.store.get_responses(keys)
        judged: dict[str, Verdict] = {}
        if self.critic is not None and have:
            critic_hash = await self._critic_hash if self._critic_hash is not None else self.critic.config_hash()
            judged = self.store.get_verdicts([k for k in keys if k in have], critic_hash)
        todo, to_judge, finished = self.sort(chunk, keys, have, judged)
        for entry in to_judge:
            await judge_q.put(entry)
        if finished:
            done(finished)
        if self.offline and todo:
            self.stats.not_run += len(todo)
            done(len(todo))
            return
        if batch_mode:
            await self._dispatch_batches(todo, judge_q, done, item, tasks)
            return
        for i, (case, key) in enumerate(todo):
            launched = self._stop is None and await self._launch(item, case, key, tasks, check_budget=True)
            if not launched:
                self.stats.not_run += len(todo) - i
                done(len(todo) - i)
                return

    def sort(self, chunk: list[TestCase], keys: list[str], have: dict[str, StoredResponse],
             judged: dict[str, Verdict]) -> tuple[list[tuple[TestCase, str]], list[tuple[TestCase, str, str]], int]:
        """What a chunk needs, given the store: (to send, stored answers to judge, how many are finished).

        Stored responses count as cached in the stats. The Ray executor sorts its chunks with this too."""
        todo: list[tuple[TestCase, str]] = []
        to_judge: list[tuple[TestCase, str, str]] = []
        finished = 0
        for case, key in zip(chunk, keys, strict=True):
            self.stats.total += 1
            r = have.get(key)
            if r is None:
                todo.append((case, key))
                continue
            self.stats.cached += 1
            self._count(r)
            # a stored `invalid` verdict is no judgment: the same command judges that response again
            if r.status == "ok" and self.critic is not None and (key not in judged or not judged[key].is_valid):
                to_judge.append((case, key, r.text or ""))
            else:
                finished += 1
        return todo, to_judge, finished

    async def _launch(self, item: Callable[..., Any], case: TestCase, key: str, tasks: set[asyncio.Task[None]],
                      check_budget: bool) -> bool:
        """Take a concurrency slot and the guard's go-ahead, then start the item; False when the run must stop."""
        await self._slots.acquire()
        try:
            probe = await self.guard.acquire()
        except RunStopped as exc:
            self._slots.release()
            self._set_stop(exc)
            return False
        if check_budget:
            try:
                self.meter.check()
            except RunStopped as exc:
                self._slots.release()
                self.guard.cancel(probe)
                self._set_stop(exc)
                return False
        t = asyncio.create_task(item(case, key, probe))
        tasks.add(t)
        t.add_done_callback(tasks.discard)
        return True

    async def _dispatch_batches(self, todo: list[tuple[TestCase, str]], judge_q: asyncio.Queue[Any],
                                done: ProgressFn, item: Callable[..., Any], tasks: set[asyncio.Task[None]]) -> None:
        """In-process backends that batch (max_batch > 1): one generate_many call per group of cases."""
        i = 0
        while i < len(todo):
            if self._stop is None:
                try:
                    self.meter.check()
                except RunStopped as exc:
                    self._set_stop(exc)
            if self._stop is not None:
                left = len(todo) - i
                self.stats.not_run += left
                done(left)
                return
            size = self.backend.max_batch
            if self.meter.max_requests is not None:  # never overshoot --max-requests with a big batch
                size = max(1, min(size, self.meter.max_requests - self.meter.requests))
            group = todo[i:i + size]
            i += len(group)
            batch = [build_messages(c.prompt, self.params, c.turns) for c, _k in group]
            try:  # the guard's limiter, breaker and meter; failed members come back for the single-request way
                results = await self.guard.call_many(batch, self.params, retry_failed=False)
            except RunStopped as exc:
                self._set_stop(exc)
                self.stats.not_run += len(group)
                done(len(group))
                continue
            for (case, key), res in zip(group, results, strict=True):
                if isinstance(res, Completion):
                    r = self._record(case, key, res, 1)
                    if r.status == "ok" and self.critic is not None:
                        await judge_q.put((case, key, r.text or ""))
                    else:
                        done()
                elif not res.kind.transient:
                    self._record(case, key, res, 1)
                    done()
                elif not await self._launch(item, case, key, tasks, check_budget=False):
                    self.stats.not_run += 1
                    done()


def leaf_backend(backend: ModelBackend) -> ModelBackend:
    """The model a composite backend (a defended model, a role wrapper) finally calls."""
    while backend.composite and isinstance(getattr(backend, "inner", None), ModelBackend):
        backend = backend.inner  # type: ignore[attr-defined]
    return backend


def _k(n: int) -> str:
    return f"{n / 1000:.1f}k" if n >= 1000 else str(n)


def error_line(stats: dict[str, Any]) -> str | None:
    """How many rows ended in an error, of which kinds (with one message each), and how to re-ask them."""
    failed = int((stats.get("states") or {}).get("error", 0))
    if not failed:
        return None
    done = sum(v for k, v in (stats.get("states") or {}).items() if k != "not_run")
    samples = stats.get("error_samples") or {}
    kinds = "; ".join(f"{kind} {n}" + (f" (e.g. {samples[kind][:160]})" if samples.get(kind) else "")
                      for kind, n in sorted((stats.get("errors") or {}).items(), key=lambda kv: -kv[1])
                      if kind != "content_filter")
    return (f"{failed} of {done} cases ended in an error: {kinds}. Once the cause is fixed, re-run the same "
            f"command with --retry-errors to ask them again (a plain re-run keeps the stored errors).")


def too_many_errors(stats: dict[str, Any], max_share: float) -> bool:
    """All recorded rows errored, or their share passed `max_share` (the run then exits non-zero)."""
    states = stats.get("states") or {}
    failed = int(states.get("error", 0))
    done = sum(v for k, v in states.items() if k != "not_run")
    return failed > 0 and (failed == done or failed / done > max_share)


def stop_message(stats: RunStats) -> str:
    """What an early stop did and how to continue, for the CLI and RunResult.message."""
    done = stats.total - stats.not_run - stats.unsaved
    how = {"budget": "re-run the same command: it skips the stored work and starts a new "
                     "--max-requests/--max-cost budget",
           "endpoint_down": "re-run the same command once the endpoint is back: it skips the stored work",
           "store_full": "re-run the same command once there is space: it sends only what is not stored"}
    lost = (f" {stats.unsaved} answers that came back could not be stored (the re-run asks them again)."
            if stats.unsaved else "")
    return (f"run stopped early: {stats.stop_message}. {done} of {stats.total} cases have a recorded answer "
            f"({stats.cached} from earlier runs, {stats.called} this run), {stats.not_run} not run yet; nothing "
            f"stored is lost.{lost} To continue, {how.get(stats.stopped or '', 're-run the same command')}.")
