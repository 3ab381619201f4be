"""`seval redteam`: adaptive attacks (PAIR, TAP, Crescendo, ...) on each base prompt of a benchmark.

Every model call of the run (attacker, target, judge) goes through one CallPolicy, so --max-requests,
--max-cost and --max-retries work as in `seval run`: a budget stop exits with code 3 and the same command
continues. Attempts (base prompt x method) run concurrently up to `concurrency`; each one's steps are stored
as they happen (seval.redteam.base.Attempt), so a re-run replays them and continues where it stopped.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seval import __version__
from seval.errors import SevalError
from seval.models.retry import RunStopped
from seval.records import GenParams, TestCase, file_sha256, stable_hash
from seval.redteam.base import REDTEAM_METHODS, Attempt, AttemptFailed, Models, RedteamMethod, RedteamSettings
from seval.redteam.results import attempt_row, summarize
from seval.runs.config import (
    RUNS_DIR,
    Advance,
    CallLimits,
    ProgressFactory,
    _slug,
    default_max_tokens,
    is_cpu_local,
    load_cases,
    no_progress,
    now,
)
from seval.runs.folder import REDTEAM, RESULTS, RUN_META, STORE, SUMMARY, write_json

DEFAULT_METHODS = ("pair", "tap", "crescendo")
#: the attacker writes prompts, not essays; in-process attackers get a shorter cap
ATTACKER_MAX_TOKENS = {"local": 160, "remote": 512}


@dataclass
class RedteamConfig(CallLimits):
    """Everything that defines a red-team run (the options of `seval redteam`)."""

    target: str | Any
    attacker: str | Any
    bench: str | Path | None = None
    methods: list[str] = field(default_factory=lambda: list(DEFAULT_METHODS))
    critic: str | Any | None = None
    settings: RedteamSettings = field(default_factory=RedteamSettings)
    out: str | Path | None = None
    limit: int | None = None
    lang: str | None = None
    concurrency: int = 4
    params: GenParams | None = None  # the target's
    attacker_params: GenParams | None = None


@dataclass
class RedteamResult:
    out_dir: Path
    summary: dict[str, Any]
    complete: bool = True
    message: str | None = None
    exit_code: int = 0

    @property
    def rows_path(self) -> Path:
        return self.out_dir / REDTEAM


def parse_methods(methods: str | list[str] | tuple[str, ...]) -> list[str]:
    """`pair,tap` or a list -> known method names (one-line error naming an unknown one); `all` = every one."""
    names = [m.strip() for m in (methods.split(",") if isinstance(methods, str) else methods) if m.strip()]
    if not names:
        raise SevalError(f"--methods is empty; valid: {', '.join(REDTEAM_METHODS.names())}")
    if names == ["all"]:
        return REDTEAM_METHODS.names()
    for n in names:
        REDTEAM_METHODS.get(n)  # raises "unknown red-team method ...; valid: ..."
    return list(dict.fromkeys(names))


def default_out(target: str, bench: str | Path | None) -> Path:
    name = "redteam__" + _slug(target) + "__" + (_slug(Path(bench).name.split(".")[0]) if bench else "starter")
    return Path(RUNS_DIR) / name


def _models(config: RedteamConfig, policy: Any) -> tuple[Any, Any, Any, list[Any]]:
    """(target, attacker, critic, backends to close), each model behind the policy in its role; one backend
    object when target and attacker are the same model string (one copy in memory; each role keeps its own
    guard and counts)."""
    from seval.critic.base import Critic, resolve_critic
    from seval.models.base import ModelBackend, resolve_model

    opts = config.model_kwargs()

    def build(spec: Any) -> ModelBackend:
        return spec if isinstance(spec, ModelBackend) else resolve_model(spec, **opts)

    target = build(config.target)
    attacker = target if config.attacker == config.target and isinstance(config.attacker, str) else build(
        config.attacker)
    critic = config.critic if isinstance(config.critic, Critic) else resolve_critic(config.critic, policy=policy)
    price = config.target_price()
    # concurrency per endpoint: the backend's own default (in-process models: one at a time)
    return (policy.wrap(target, "target", None, price), policy.wrap(attacker, "attacker"), critic,
            [target] if attacker is target else [target, attacker])


def attempt_key(method: RedteamMethod, models: Models) -> str:
    """What an attempt's stored steps belong to: change the method's settings, a model, the critic or the
    parameters and the steps are done afresh."""
    return stable_hash({"method": method.config(), "target": models.target.config_hash(),
                        "attacker": models.attacker.config_hash(), "critic": models.critic.config_hash(),
                        "tp": models.target_params.to_dict(), "ap": models.attacker_params.to_dict()})


async def _one(att: Attempt, method: RedteamMethod, slots: asyncio.Semaphore,
               on_done: Advance | None) -> tuple[dict[str, Any] | None, RunStopped | None]:
    async with slots:
        try:
            await method.run(att)
            row = attempt_row(att)
        except AttemptFailed as exc:
            row = attempt_row(att, status="error", error=f"{exc.who}: {exc.err.kind.value}: {exc.err.message}"[:300])
        except RunStopped as exc:
            return None, exc
    if on_done is not None:
        on_done()
    return row, None


async def arun_redteam(config: RedteamConfig, progress: ProgressFactory | None = None,
                       on_event: Callable[[str], None] | None = None) -> RedteamResult:
    """Run `config`: redteam.jsonl, summary.json and run.json in the output folder (resumed from its store).
    `progress(total, label)` (seval.runs.config.ProgressFactory) counts finished attempts."""
    from seval.io import read_cases, starter_path
    from seval.runner.store import RunStore
    from seval.runs.summary import critic_block

    config.settings.check()
    config.check_limits()
    if config.concurrency < 1:
        raise SevalError(f"--concurrency must be >= 1, got {config.concurrency}")
    names = parse_methods(config.methods)
    methods = [REDTEAM_METHODS.get(n)(config.settings) for n in names]
    bench = Path(config.bench) if config.bench else starter_path()
    if not bench.exists():
        raise SevalError(f"benchmark file not found: {bench}")
    n_cases = sum(1 for _ in read_cases(bench, lang=config.lang, limit=config.limit))
    if n_cases == 0:
        raise SevalError(f"{bench}: no test cases" + (f" in language {config.lang!r}" if config.lang else ""))
    tspec = config.target if isinstance(config.target, str) else config.target.spec
    aspec = config.attacker if isinstance(config.attacker, str) else config.attacker.spec
    out = Path(config.out) if config.out else default_out(tspec, str(config.bench) if config.bench else None)
    if (out / RESULTS).is_file():
        raise SevalError(f"{out} holds a `seval run` (results.jsonl): give the red-team run its own --out folder")
    policy = config.policy(on_event)
    target, attacker, critic, backends = _models(config, policy)
    tparams = config.params or GenParams(max_tokens=default_max_tokens(tspec))
    aparams = config.attacker_params or GenParams(
        temperature=1.0, max_tokens=ATTACKER_MAX_TOKENS["local" if is_cpu_local(aspec) else "remote"])
    models = Models(target, attacker, critic, tparams, aparams)
    keys = {m.name: attempt_key(m, models) for m in methods}
    out.mkdir(parents=True, exist_ok=True)
    store = RunStore(out / STORE)
    started = now()
    cases: list[TestCase] = list(load_cases(bench, config.lang, config.limit))
    slots = asyncio.Semaphore(config.concurrency)
    results: list[tuple[dict[str, Any] | None, RunStopped | None]] = []
    try:
        with (progress or no_progress)(len(cases) * len(methods), f"red team {tspec}") as advance:
            jobs = [_one(Attempt(c, m.name, keys[m.name], models, store), m, slots, advance)
                    for c in cases for m in methods]
            results = await _gather_stopping(jobs, policy)
    finally:
        store.close()
        for b in backends:
            await b.aclose()
        await critic.aclose()
    rows = [r for r, _ in results if r is not None]
    stops = [s for _, s in results if s is not None]
    not_run = Counter(names[i % len(names)] for i, (r, _) in enumerate(results) if r is None)
    with open(out / (REDTEAM + ".tmp"), "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    (out / (REDTEAM + ".tmp")).replace(out / REDTEAM)
    meta = {"seval_version": __version__, "kind": "redteam", "target": tspec, "target_hash": target.config_hash(),
            "attacker": aspec, "attacker_hash": attacker.config_hash(), "critic": critic.spec,
            "critic_hash": critic.config_hash(), "bench": str(bench), "bench_sha256": file_sha256(bench),
            "n_cases": n_cases, "lang": config.lang, "limit": config.limit, "methods": names,
            "settings": {k: getattr(config.settings, k) for k in config.settings.__dataclass_fields__},
            "params": tparams.to_dict(), "attacker_params": aparams.to_dict(), "started": started,
            "finished": now(), "complete": not stops, "stopped": stops[0].reason if stops else None,
            "usage": policy.meter.to_dict()}
    summary = summarize(rows, names, n_cases, dict(not_run))
    summary.update(kind="redteam", calls_by_role=policy.usage_by_role(), critic=critic_block(critic), run=meta)
    write_json(out / SUMMARY, summary)
    write_json(out / RUN_META, meta)
    res = RedteamResult(out, summary)
    if stops:
        res.complete = False
        res.exit_code = stops[0].exit_code
        res.message = (f"red-team run stopped early: {stops[0].message}. {len(rows)} of {len(results)} attempts "
                       f"finished; every step so far is stored. To continue, re-run the same command: stored "
                       f"steps are replayed without calling a model.")
    return res


async def _gather_stopping(jobs: list[Any], policy: Any) -> list[tuple[dict[str, Any] | None, RunStopped | None]]:
    """Run the attempts; the first RunStopped stops every model of the run (the others end quickly)."""
    tasks = [asyncio.ensure_future(j) for j in jobs]
    for fut in asyncio.as_completed(tasks):
        _, stop = await fut
        if stop is not None:
            policy.stop(stop)
    return [t.result() for t in tasks]


def run_redteam(config: RedteamConfig, **kwargs: Any) -> RedteamResult:
    """Synchronous `arun_redteam`."""
    from seval.runs.config import run_sync

    return run_sync(lambda: arun_redteam(config, **kwargs))
