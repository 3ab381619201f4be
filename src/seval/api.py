"""The Python API behind `seval run`: the same options as the CLI, callable from a notebook or a script.

    from seval.api import run_benchmark
    result = run_benchmark("openai-compatible:http://127.0.0.1:8000/v1#qwen", bench="bench.jsonl", limit=100)
    result.summary["safety"]["overall"]
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from seval import __version__
from seval.errors import SevalError
from seval.records import GenParams, ResultRow, TestCase

DEFAULT_TARGET = "local:smollm2"
RUNS_DIR = "seval-runs"
#: answer length caps: CPU-bound in-process models get a shorter one so the default run stays a few minutes
LOCAL_MAX_TOKENS = 64
REMOTE_MAX_TOKENS = 256


def default_max_tokens(target: str) -> int:
    """The answer cap used when the user gives none: shorter for in-process models on the CPU."""
    return LOCAL_MAX_TOKENS if target.startswith(("local:", "llama-cpp:")) else REMOTE_MAX_TOKENS


@dataclass
class RunResult:
    """Where a run's files are, and its summary; rows are read lazily from results.jsonl."""

    out_dir: Path
    summary: dict[str, Any]
    stats: dict[str, Any] = field(default_factory=dict)
    #: False when the run stopped early (--max-requests, --max-cost, endpoint down); the same call resumes it
    complete: bool = True
    #: why it stopped and how to continue; None when complete
    message: str | None = None
    #: the CLI's exit code: 0 complete, 3 budget reached, 4 endpoint down
    exit_code: int = 0

    @property
    def results_path(self) -> Path:
        return self.out_dir / "results.jsonl"

    def iter_rows(self) -> Iterator[ResultRow]:
        with open(self.results_path, encoding="utf-8") as fh:
            for line in fh:
                yield ResultRow.from_dict(json.loads(line))

    @cached_property
    def rows(self) -> list[ResultRow]:
        return list(self.iter_rows())


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:80] or "run"


def default_out_dir(target: str, bench: str | None, defense: str | None) -> Path:
    """Deterministic, so the same command resumes the same run."""
    name = _slug(target) + "__" + (_slug(Path(bench).name.split(".")[0]) if bench else "starter")
    if defense:
        name += "__" + _slug(defense)
    return Path(RUNS_DIR) / name


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_cases(bench: str | Path | None, lang: str | None, limit: int | None) -> Iterator[TestCase]:
    """The benchmark's cases; those without dimension/category/risk get the risk tagger's (scores in
    meta["tagger"]) so the critic always sees the risk a prompt probes."""
    from seval.io import read_cases, starter_path
    from seval.tagger.base import iter_tagged

    return iter_tagged(read_cases(bench or starter_path(), lang=lang, limit=limit))


def _think_stripper() -> Any:
    """Reasoning models' <think> blocks are removed before judging: the critic sees the answer."""
    from seval.metrics.text import strip_think

    return lambda text: strip_think(text)[0]


async def arun_benchmark(
    target: str | Any = DEFAULT_TARGET,
    bench: str | Path | None = None,
    critic: str | Any | None = None,
    out: str | Path | None = None,
    concurrency: int | None = None,
    limit: int | None = None,
    lang: str | None = None,
    defense: str | None = None,
    params: GenParams | None = None,
    progress: bool = True,
    retry_errors: bool = False,
    model_options: dict[str, Any] | None = None,
    timeout: float | None = None,
    max_retries: int = 6,
    max_requests: int | None = None,
    max_cost: float | None = None,
    prices: str | Path | None = None,
    price_in: float | None = None,
    price_out: float | None = None,
    max_wait: float = 900.0,
) -> RunResult:
    """Run `bench` (default: the starter benchmark) against `target`, judge with `critic`, write `out`."""
    from seval.critic.base import Critic, resolve_critic
    from seval.io import starter_path
    from seval.models.base import ModelBackend, resolve_model
    from seval.runner.budget import Meter, Price, PriceTable
    from seval.runner.executor import Executor, RetryPolicy
    from seval.runner.store import RunStore

    params = params or GenParams()
    bench_path = Path(bench) if bench else starter_path()
    if not bench_path.exists():
        raise SevalError(f"benchmark file not found: {bench_path}")
    backend: ModelBackend = target if isinstance(target, ModelBackend) else resolve_model(target, **(model_options or {}))
    target_spec = backend.spec
    if timeout is not None:
        if timeout <= 0:
            raise SevalError(f"--timeout must be > 0 seconds, got {timeout}")
        if hasattr(backend, "timeout"):
            backend.timeout = timeout
    if (price_in is None) != (price_out is None):
        raise SevalError("give both --price-in and --price-out (USD per 1M input / output tokens)")
    price = Price(price_in, price_out) if price_in is not None and price_out is not None else None
    price_table = PriceTable.load(prices)
    meter = Meter(max_requests=max_requests, max_cost=max_cost)
    if defense:
        from seval.defense import resolve_defense

        backend = resolve_defense(defense).wrap(backend)
    judge: Critic = critic if isinstance(critic, Critic) else resolve_critic(critic)
    out_dir = Path(out) if out else default_out_dir(target_spec, str(bench) if bench else None, defense)
    out_dir.mkdir(parents=True, exist_ok=True)

    # a first pass counts the cases (for the progress bar) and validates every line before any model call
    total = sum(1 for _ in load_cases(bench_path, lang, limit))
    if total == 0:
        raise SevalError(f"{bench_path}: no test cases" + (f" in language {lang!r}" if lang else ""))

    store = RunStore(out_dir / "store.sqlite")
    started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    run_meta = {
        "seval_version": __version__,
        "target": target_spec,
        "target_config": backend.config(),
        "target_hash": backend.config_hash(),
        "bench": str(bench_path),
        "bench_sha256": _file_sha256(bench_path),
        "n_cases": total,
        "lang": lang,
        "limit": limit,
        "critic": judge.spec,
        "critic_hash": judge.config_hash(),
        "defense": defense,
        "params": params.to_dict(),
        "started": started,
    }
    if retry_errors:
        store.delete_errors()
    executor = Executor(backend, judge, store, params, concurrency=concurrency,
                        retry=RetryPolicy(max_retries=max_retries), preprocess=_think_stripper(), meter=meter,
                        prices=price_table, price=price, max_wait=max_wait, on_event=_stderr_event)
    try:
        if progress:
            from seval.runner.progress import progress_bar

            with progress_bar(total, f"{run_meta['target']}") as advance:
                executor.on_event = advance.message
                stats = await executor.run(load_cases(bench_path, lang, limit), on_progress=advance)
        else:
            stats = await executor.run(load_cases(bench_path, lang, limit))
        from seval.metrics import Summarizer

        # the summary is fed while results.jsonl is written: one pass over the results, not two
        summarizer = Summarizer()
        rows_written = write_results(out_dir, store, executor, load_cases(bench_path, lang, limit), run_meta,
                                     on_row=summarizer.add)
    finally:
        store.close()
        await backend.aclose()
        await judge.aclose()
    summary = summarizer.result()
    summary["run"] = {**run_meta, "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                      "stats": stats.to_dict(), "rows": rows_written}
    (out_dir / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    (out_dir / "run.json").write_text(json.dumps(summary["run"], ensure_ascii=False, indent=2), encoding="utf-8")
    result = RunResult(out_dir=out_dir, summary=summary, stats=stats.to_dict())
    if stats.stopped:
        from seval.runner.executor import stop_message

        result.complete = False
        result.exit_code = 4 if stats.stopped == "endpoint_down" else 3
        result.message = stop_message(stats)
    return result


def _stderr_event(text: str) -> None:
    import sys

    print(text, file=sys.stderr, flush=True)


def write_results(out_dir: Path, store: Any, executor: Any, cases: Iterator[TestCase], run_meta: dict[str, Any],
                  on_row: Callable[[ResultRow], None] | None = None) -> int:
    """results.jsonl: one line per test case, in benchmark order, joined from the store (bounded memory).

    `on_row` sees each row as it is written (the run summary is computed this way, without re-reading).
    """
    from seval.runner.executor import CHUNK

    critic_hash = run_meta["critic_hash"]
    tmp = out_dir / "results.jsonl.tmp"
    n = 0
    with open(tmp, "w", encoding="utf-8") as fh:
        chunk: list[TestCase] = []

        def emit(chunk: list[TestCase]) -> int:
            keys = [executor.key_for(c) for c in chunk]
            resp = store.get_responses(keys)
            verd = store.get_verdicts(keys, critic_hash)
            for c, k in zip(chunk, keys, strict=True):
                r = resp.get(k)
                v = verd.get(k)
                row = ResultRow(
                    id=c.id, lang=c.lang, prompt=c.prompt, dimension=c.dimension, category=c.category, risk=c.risk,
                    attack=c.attack, base_id=c.base_id, from_id=c.from_id, target=run_meta["target"],
                    status=r.status if r else "error", response=r.text if r else None,
                    error_kind=(r.error_kind if r else "not_run"), error=(r.error if r else "no response recorded"),
                    verdict=v.label if v else None, score=v.score if v else None,
                    explanation=v.explanation if v else None, tags=v.tags if v else [],
                    critic=run_meta["critic"] if v else None, defense=run_meta["defense"],
                    prompt_tokens=r.prompt_tokens if r else 0, completion_tokens=r.completion_tokens if r else 0,
                    latency_s=r.latency_s if r else 0.0,
                )
                fh.write(json.dumps(_row_dict(row), ensure_ascii=False) + "\n")
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
    tmp.replace(out_dir / "results.jsonl")
    return n


def _row_dict(row: ResultRow) -> dict[str, Any]:
    """ResultRow.to_dict() without dataclasses.asdict's deep copy (a third of the harness CPU at 2,000 rows)."""
    import dataclasses

    return {f.name: getattr(row, f.name) for f in dataclasses.fields(row)}


def run_benchmark(*args: Any, **kwargs: Any) -> RunResult:
    """Synchronous `arun_benchmark`; works inside a running event loop too (e.g. Jupyter) via a thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(arun_benchmark(*args, **kwargs))
    box: dict[str, Any] = {}

    def runner() -> None:
        try:
            box["result"] = asyncio.run(arun_benchmark(*args, **kwargs))
        except BaseException as exc:
            box["error"] = exc

    t = threading.Thread(target=runner)
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box["result"]
