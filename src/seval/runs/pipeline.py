"""The one run pipeline: test cases x target x defense -> responses -> verdicts -> rows -> summary.

`seval run`, `seval defend` (twice: without and with the defense), the studies and re-judging
(`seval critic judge --run DIR`, seval.runs.rejudge) all go through `execute`/`_execute`: re-judging is the
same pipeline with the target offline (responses are read from the store, never requested) and another critic.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from seval import __version__
from seval.errors import SevalError
from seval.records import GenParams, ResultRow, TestCase, file_sha256
from seval.runs.config import (
    DEFAULT_TARGET,
    LOCAL_MAX_TOKENS,
    NO_CRITIC,
    REMOTE_MAX_TOKENS,
    RUNS_DIR,
    ProgressFactory,
    RunConfig,
    RunResult,
    _think_stripper,
    default_max_tokens,
    default_out_dir,
    load_cases,
    no_progress,
    now,
    progress_factory,
    run_sync,
)
from seval.runs.folder import RESULTS, STORE, RunFolder, write_json

T = TypeVar("T")

# ---- the stages ---------------------------------------------------------------------------------------------


#: blocks that packages above runs add to a run's summary: name -> fn(out_dir, summary) -> block or None
#: (seval.api registers the audit's, so runs never imports seval.audit, which reads run folders)
SUMMARY_BLOCKS: dict[str, Callable[[Path, dict[str, Any]], dict[str, Any] | None]] = {}


@dataclass
class _Plan:
    """A run resolved: the backend (defense applied), the critic, where it goes and its metadata."""

    backend: Any
    critic: Any
    out_dir: Path
    cases: Callable[[], Iterator[TestCase]]  # a fresh iterator per pass (count, run, rows)
    meta: dict[str, Any]
    offline: bool = False
    key_fn: Callable[[TestCase], str] | None = None
    rows_path: Path | None = None  # None: OUT/results.jsonl
    write_meta: bool = True
    close_target: bool = True
    #: the run's one call policy: every model call of the run (target, judges, defense) goes through it
    policy: Any = None
    #: counts (and validates) the cases without the work `cases` may do (tagging); None: counts `cases()`
    count: Callable[[], int] | None = None
    #: how a worker process rebuilds backend and critic (seval.runs.ray_worker.Recipe); None: not possible
    recipe: Any = None


def build_models(config: RunConfig, policy: Any) -> tuple[Any, Any]:
    """The run's target (defense applied) and critic, built through `policy`: THE place a run's models are
    made, in this process or in a Ray worker from the same config."""
    from seval.critic.base import Critic, resolve_critic
    from seval.models.base import ModelBackend, resolve_model

    target = config.target
    if config.timeout is not None and isinstance(target, ModelBackend):
        raise SevalError("--timeout applies to a target given as a model string; set the timeout on the "
                         "backend object passed as target")
    backend = target if isinstance(target, ModelBackend) else resolve_model(target, **config.model_kwargs())
    if config.defense:
        from seval.defense import resolve_defense

        backend = resolve_defense(config.defense, policy=policy).wrap(backend)
    # critic "none": responses only (a bench baseline, or judging later with `seval critic judge --run`)
    judge = (None if config.critic == NO_CRITIC else
             config.critic if isinstance(config.critic, Critic) else resolve_critic(config.critic, policy=policy))
    return backend, judge


def _plan(config: RunConfig) -> _Plan:
    from seval.io import read_cases, starter_path

    config.check()
    params = config.params or GenParams()
    bench_path = Path(config.bench) if config.bench else starter_path()
    if not bench_path.exists():
        raise SevalError(f"benchmark file not found: {bench_path}")
    policy = config.policy()
    backend, judge = build_models(config, policy)
    target_spec = backend.spec
    out_dir = Path(config.out) if config.out else default_out_dir(target_spec, str(config.bench) if config.bench
                                                                  else None, config.defense)

    def cases() -> Iterator[TestCase]:
        return load_cases(bench_path, config.lang, config.limit)

    def count() -> int:  # untagged cases need no tagging to be counted
        return sum(1 for _ in read_cases(bench_path, lang=config.lang, limit=config.limit, unique_ids=True))

    meta = {
        "seval_version": __version__, "target": target_spec, "target_config": backend.config(),
        "target_hash": backend.config_hash(), "bench": str(bench_path), "bench_sha256": file_sha256(bench_path),
        "n_cases": 0, "lang": config.lang, "limit": config.limit,
        "critic": judge.spec if judge else None,
        # filled in after the run: computing it can load the critic (the executor does it in a thread)
        "critic_hash": None,
        "defense": config.defense, "params": params.to_dict(), "started": now(),
    }
    recipe = None
    if config.executor == "ray":
        from seval.runs.ray_worker import Recipe

        recipe = Recipe.for_run(config)
    return _Plan(backend, judge, out_dir, cases, meta, policy=policy, count=count, recipe=recipe)


async def execute(config: RunConfig, progress: ProgressFactory | None = None,
                  on_event: Callable[[str], None] | None = None,
                  usage_by_role: Callable[[], dict[str, Any]] | None = None) -> RunResult:
    """Run `config`: responses (resumed from the store), verdicts, results.jsonl, summary.json and run.json."""
    plan = _plan(config)
    return await _execute(plan, config, progress, on_event, usage_by_role)


async def _execute(plan: _Plan, config: RunConfig, progress: ProgressFactory | None,
                   on_event: Callable[[str], None] | None,
                   usage_by_role: Callable[[], dict[str, Any]] | None) -> RunResult:
    # a first pass counts the cases (for the progress bar) and validates every line before any model call
    total = plan.count() if plan.count is not None else sum(1 for _ in plan.cases())
    if total == 0:
        raise SevalError(f"{plan.meta['bench']}: no test cases" + (f" in language {config.lang!r}" if config.lang
                                                                     else ""))
    plan.meta["n_cases"] = total
    with RunFolder(plan.out_dir).lock():  # one run writes a folder at a time
        return await _execute_locked(plan, config, progress or no_progress, on_event, usage_by_role, total)


async def _execute_locked(plan: _Plan, config: RunConfig, progress: ProgressFactory,
                          on_event: Callable[[str], None] | None,
                          usage_by_role: Callable[[], dict[str, Any]] | None, total: int) -> RunResult:
    from seval.runner.executor import Executor, error_line, stop_message, too_many_errors
    from seval.runner.store import RunStore, StoreUnwritable

    params = config.params or GenParams()
    store = RunStore(plan.out_dir / STORE)
    price = config.target_price()
    if config.retry_errors and not plan.offline:
        store.delete_errors()
    if plan.policy is None:  # a plan built elsewhere (re-judging): the limits of its config
        plan.policy = config.policy()
    plan.policy.on_event = on_event
    kind: Any = Executor
    extra: dict[str, Any] = {}
    if config.executor == "ray":
        from seval.runs.ray_executor import RayExecutor

        kind = RayExecutor
        extra = {"recipe": plan.recipe, "address": config.ray_address, "workers": config.ray_workers,
                 "batch": config.ray_batch}
    executor = kind(plan.backend, plan.critic, store, params, concurrency=config.concurrency,
                    preprocess=_think_stripper(), policy=plan.policy, price=price,
                    on_event=on_event, offline=plan.offline, key_fn=plan.key_fn, **extra)
    from seval.runs.summary import RunSummarizer

    summarizer = RunSummarizer(plan.critic)
    try:
        with progress(total, f"{plan.meta['target']}") as advance:
            if advance is not None and hasattr(advance, "message"):
                executor.on_event = plan.policy.on_event = advance.message
            stats = await executor.run(plan.cases(), on_progress=advance)
        if stats.stopped == StoreUnwritable.reason:  # nothing more can be written: say so, keep the store
            return RunResult(out_dir=plan.out_dir, summary={}, stats=stats.to_dict(), complete=False,
                             message=stop_message(stats), exit_code=StoreUnwritable.exit_code)
        plan.meta["critic_hash"] = plan.critic.config_hash() if plan.critic is not None else ""
        if getattr(executor, "run_info", None):  # the Ray executor: workers, start-up time, store commit rate
            plan.meta["executor"] = executor.run_info
        rows_path = plan.rows_path or plan.out_dir / RESULTS
        rows_written = _writing(rows_path, lambda: write_rows(rows_path, store, executor, plan.cases(), plan.meta,
                                                              on_row=summarizer.add))
    finally:
        store.close(flush=executor.stats.stopped != StoreUnwritable.reason)
        if plan.close_target:
            await plan.backend.aclose()
        if plan.critic is not None:
            await plan.critic.aclose()
    roles = _usage_by_role(usage_by_role or plan.policy.usage_by_role)
    run_meta = {**plan.meta, "finished": now(), "stats": stats.to_dict(), "rows": rows_written}
    summary = summarizer.result(run_meta, calls_by_role=roles)
    folder = RunFolder(plan.out_dir)
    if plan.write_meta:
        for name, block_of in SUMMARY_BLOCKS.items():  # e.g. the audit: raw and corrected side by side
            if (block := block_of(plan.out_dir, summary)) is not None:
                summary[name] = block
        _writing(folder.summary_path, lambda: write_json(folder.summary_path, summary))
        _writing(folder.meta_path, lambda: write_json(folder.meta_path, run_meta))
    result = RunResult(out_dir=plan.out_dir, summary=summary, stats=stats.to_dict(),
                       rows_path=rows_path)
    if stats.stopped:
        result.complete = False
        result.exit_code = {"endpoint_down": 4}.get(stats.stopped, 3)
        result.message = stop_message(stats)
    elif not plan.offline and too_many_errors(result.stats, config.max_error_share):
        result.exit_code = 5
        result.message = (f"{error_line(result.stats)} The run exits non-zero: more than "
                          f"--max-error-share {config.max_error_share:g} of its rows errored.")
    return result


def _writing(path: Path, write: Callable[[], T]) -> T:
    """A run file written; a full or read-only disk is one line (the store has the answers: re-run to finish)."""
    try:
        return write()
    except OSError as exc:
        raise SevalError(f"could not write {path}: {exc.strerror}; free space (or make it writable) and re-run "
                         f"the same command: the answers are in the store") from None


def _usage_by_role(fn: Callable[[], dict[str, Any]]) -> dict[str, Any] | None:
    """Per-role call counts from the run's call policy (requests, tokens, cost, retries, errors per role)."""
    try:
        got = fn()
    except Exception:  # counts are a report, never a reason to lose a finished run
        return None
    return dict(got) if got else None


def write_rows(path: Path, store: Any, executor: Any, cases: Iterator[TestCase], run_meta: dict[str, Any],
               on_row: Callable[[ResultRow], None] | None = None) -> int:
    """The rows file (results.jsonl): one line per test case, in benchmark order, joined from the store.

    `on_row` sees each row as it is written (the summary is computed this way, without re-reading).
    """
    import json

    from seval.runner.executor import CHUNK
    from seval.runs.rows import build_row, row_dict

    critic_hash = run_meta["critic_hash"]
    tmp = path.with_name(path.name + ".tmp")
    n = 0
    dumps = json.dumps
    with open(tmp, "w", encoding="utf-8") as fh:
        chunk: list[TestCase] = []

        def emit(chunk: list[TestCase]) -> int:
            keys = [executor.key_for(c) for c in chunk]
            resp = store.get_responses([k for k in keys if k])
            verd = store.get_verdicts([k for k in keys if k], critic_hash)
            for c, k in zip(chunk, keys, strict=True):
                row = build_row(c, resp.get(k), verd.get(k), run_meta["target"], run_meta["critic"],
                                run_meta["defense"])
                fh.write(dumps(row_dict(row), ensure_ascii=False) + "\n")
                if on_row is not None:
                    on_row(row)
            return len(chunk)

        for c in cases:
            chunk.append(c)
            if len(chunk) >= CHUNK:
                n += emit(chunk)
                chunk = []
        if chunk:
            n += emit(chunk)
    tmp.replace(path)
    return n


def summary_of(run_dir: str | Path) -> dict[str, Any]:
    """A finished run's summary.json."""
    return RunFolder(run_dir).summary


__all__ = ["DEFAULT_TARGET", "LOCAL_MAX_TOKENS", "NO_CRITIC", "REMOTE_MAX_TOKENS", "RUNS_DIR", "ProgressFactory",
           "RunConfig", "RunResult", "default_max_tokens", "default_out_dir", "execute", "file_sha256",
           "load_cases", "progress_factory", "run_sync", "write_rows"]
