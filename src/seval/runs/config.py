"""What defines a run (RunConfig), what it gives back (RunResult), and the small helpers every stage shares:
where a run goes, where its test cases come from, progress callbacks and running a coroutine from sync code.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol, TypeVar

from seval.errors import SevalError
from seval.records import GenParams, ResultRow, TestCase
from seval.runs.folder import RESULTS, RunFolder

T = TypeVar("T")

DEFAULT_TARGET = "local:smollm2"
RUNS_DIR = "seval-runs"
NO_CRITIC = "none"
#: answer length caps: CPU-bound in-process models get a shorter one so the default run stays a few minutes
LOCAL_MAX_TOKENS = 64
REMOTE_MAX_TOKENS = 256
#: where a run's work is done: in this process ("local") or spread over Ray workers ("ray")
EXECUTORS = ("local", "ray")
#: a run whose share of errored rows passes this (or whose rows all errored) exits non-zero (--max-error-share)
MAX_ERROR_SHARE = 0.5


def is_cpu_local(spec: str) -> bool:
    """Whether a model string names an in-process model run on the CPU (it gets shorter default caps); `hf:`
    counts unless it asks for CUDA or this machine has an NVIDIA driver (its `auto` device is then the GPU)."""
    if spec.startswith("hf:"):
        return "device=cuda" not in spec and not Path("/proc/driver/nvidia/version").exists()
    return spec.startswith(("local:", "llama-cpp:"))


def default_max_tokens(target: str) -> int:
    """The answer cap used when the user gives none: shorter for in-process models on the CPU."""
    return LOCAL_MAX_TOKENS if is_cpu_local(target) else REMOTE_MAX_TOKENS


class Advance(Protocol):
    """What a progress display gives the pipeline: `advance(n)`; optionally `.message(text)`, `.set_info(text)`."""

    def __call__(self, n: int = 1) -> None: ...


#: `progress(total, label)` -> a context manager yielding an Advance (the CLI passes a rich bar)
ProgressFactory = Callable[[int, str], AbstractContextManager[Advance | None]]


def no_progress(total: int, label: str) -> AbstractContextManager[Advance | None]:
    return nullcontext(None)


@dataclass(kw_only=True)
class CallLimits:
    """The options every command that calls models shares: model options, timeout, retries, budgets, prices.
    One place turns them into the run's call policy and checks them."""

    model_options: dict[str, Any] | None = None
    timeout: float | None = None
    max_retries: int = 6
    max_requests: int | None = None
    max_cost: float | None = None
    prices: str | Path | None = None
    price_in: float | None = None  # USD per 1M tokens for the target (overrides the price table)
    price_out: float | None = None
    max_wait: float = 900.0

    def check_limits(self) -> None:
        """One-line errors for bad limits, before anything is loaded."""
        if self.timeout is not None and self.timeout <= 0:
            raise SevalError(f"--timeout must be > 0 seconds, got {self.timeout}")
        if (self.price_in is None) != (self.price_out is None):
            raise SevalError("give both --price-in and --price-out (USD per 1M input / output tokens)")

    def model_kwargs(self) -> dict[str, Any]:
        """Options for `resolve_model`: the model options plus the timeout (in-process backends reject one)."""
        opts = dict(self.model_options or {})
        if self.timeout is not None:
            opts["timeout"] = self.timeout
        return opts

    def target_price(self) -> Any:
        """The target's price from --price-in/--price-out (seval.models.budget.Price), or None."""
        from seval.models.budget import Price

        return None if self.price_in is None or self.price_out is None else Price(self.price_in, self.price_out)

    def policy(self, on_event: Callable[[str], None] | None = None) -> Any:
        """The call policy these limits describe (one per process: a run's driver, or a Ray worker's)."""
        from seval.models.budget import PriceTable
        from seval.models.policy import CallPolicy

        return CallPolicy.from_limits(max_retries=self.max_retries, max_requests=self.max_requests,
                                      max_cost=self.max_cost, prices=PriceTable.load(self.prices),
                                      max_wait=self.max_wait, on_event=on_event)


@dataclass
class RunConfig(CallLimits):
    """Everything that defines one run (the options of `seval run`); `execute(config)` runs it."""

    target: str | Any = DEFAULT_TARGET  # a model string or a ModelBackend
    bench: str | Path | None = None  # None: the starter benchmark
    critic: str | Any | None = None  # a critic spec or a Critic; None: the default critic
    out: str | Path | None = None  # None: seval-runs/<target>__<bench>[__<defense>]
    concurrency: int | None = None
    limit: int | None = None
    lang: str | None = None
    defense: str | None = None
    params: GenParams | None = None
    retry_errors: bool = False
    max_error_share: float = MAX_ERROR_SHARE  # more errored rows than this share: exit code 5
    # ---- where the work runs (seval.runs.ray_executor) ----
    #: "local": this process's event loop; "ray": batches spread over a pool of Ray actors
    executor: str = "local"
    ray_address: str | None = None  # None: start a local Ray instance; "auto" or HOST:PORT: join that cluster
    ray_workers: int | None = None  # worker actors; None: as many as the cluster's CPUs (or GPUs) allow
    ray_batch: int | None = None  # cases per batch sent to a worker; None: 2 x the worker's concurrency

    def check(self) -> None:
        """One-line errors for bad values, before anything is loaded."""
        if not 0.0 <= self.max_error_share <= 1.0:
            raise SevalError(f"--max-error-share must be between 0 and 1, got {self.max_error_share}")
        if self.executor not in EXECUTORS:
            raise SevalError(f"unknown executor {self.executor!r}; valid: {', '.join(EXECUTORS)}")
        if self.executor != "ray" and (self.ray_address or self.ray_workers or self.ray_batch):
            raise SevalError("--ray-address, --ray-workers and --ray-batch need --executor ray")
        if self.executor == "ray":
            from seval.runs.ray_executor import import_ray

            import_ray()  # not installed: the one-line hint, before any model is built
        self.check_limits()


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
    #: the CLI's exit code: 0 complete, 3 budget reached, 4 endpoint down, 5 too many rows ended in errors,
    #: 6 the run store could not be written (disk full, read-only)
    exit_code: int = 0
    #: where the rows went (results.jsonl, or a rejudge-*.jsonl for a re-judged run)
    rows_path: Path | None = None

    @property
    def folder(self) -> RunFolder:
        return RunFolder(self.out_dir)

    @property
    def results_path(self) -> Path:
        return self.rows_path or self.out_dir / RESULTS

    def iter_rows(self) -> Iterator[ResultRow]:
        from seval.runs.folder import read_results

        return (ResultRow.from_dict(d) for d in read_results(self.results_path))

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


def load_cases(bench: str | Path | None, lang: str | None, limit: int | None) -> Iterator[TestCase]:
    """THE place test cases enter a run (the starter benchmark when `bench` is None).

    Cases without dimension/category/risk get the risk tagger's (scores in meta["tagger"]), so the critic
    always sees the risk a prompt probes."""
    from seval.io import read_cases, starter_path
    from seval.tagger.base import iter_tagged

    return iter_tagged(read_cases(bench or starter_path(), lang=lang, limit=limit, unique_ids=True))


def _think_stripper() -> Callable[[str], str]:
    """Reasoning models' <think> blocks are removed before judging: the critic sees the answer."""
    from seval.metrics.text import strip_think

    return lambda text: strip_think(text)[0]


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def progress_factory(progress: bool | ProgressFactory | None) -> ProgressFactory | None:
    """True -> the default terminal bar (stderr); False/None -> none; a factory is used as given."""
    if progress is True:
        from seval.runner.progress import progress_bar

        return progress_bar  # type: ignore[return-value]
    return progress or None


def run_sync(coro_fn: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine from sync code; works inside a running event loop too (e.g. Jupyter) via a thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro_fn())  # type: ignore[arg-type]
    box: dict[str, Any] = {}

    def runner() -> None:
        try:
            box["result"] = asyncio.run(coro_fn())  # type: ignore[arg-type]
        except BaseException as exc:
            box["error"] = exc

    t = threading.Thread(target=runner)
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box["result"]  # type: ignore[no-any-return]
