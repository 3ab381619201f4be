"""`seval defend`, the library side: the same benchmark without and with a defense (the run pipeline twice),
over-refusal on benign prompts, and the paired comparison (seval.defense.measure), written to defense.json.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from seval.defense.measure import compare_runs, cost, refusal_cost, routing_stats
from seval.errors import SevalError
from seval.records import GenParams
from seval.runs.folder import BENCH_SAMPLE, BENIGN_RESPONSES, DEFENSE, write_json
from seval.runs.pipeline import (
    LOCAL_MAX_TOKENS,
    ProgressFactory,
    RunConfig,
    default_max_tokens,
    execute,
    load_cases,
    progress_factory,
    run_sync,
)

DEFEND_VERSION = 1


def sample_bench(bench: str | Path | None, n: int, out: Path, lang: str | None = None) -> Path:
    """A deterministic sample of `n` cases spread over dimensions (round robin), written as JSONL to `out`."""
    from seval.io import write_cases

    by_dim: dict[str, list[Any]] = {}
    for c in load_cases(bench, lang, None):
        by_dim.setdefault(c.dimension or "?", []).append(c)
    picked: list[Any] = []
    queues = [list(v) for v in by_dim.values()]
    while len(picked) < n and any(queues):
        for q in queues:
            if q and len(picked) < n:
                picked.append(q.pop(0))
    if not picked:
        raise SevalError(f"{bench or 'starter benchmark'}: no test cases to sample")
    write_cases(out, picked, fmt="jsonl")
    return out


def run_defend(target: str, constitution: str, bench: str | None = None, modes: str = "system",
               critic: str | None = None, check_critic: str | None = None, limit: int | None = None,
               sample: int | None = None, lang: str | None = None, out: str | Path | None = None,
               benign: str = "all", benign_limit: int | None = None, params: GenParams | None = None,
               concurrency: int | None = None, progress: bool | ProgressFactory | None = None,
               **where: Any) -> dict[str, Any]:
    """Run the benchmark without and with the defense, measure over-refusal, write and return defense.json.

    `where`: executor ("local" or "ray"), ray_address, ray_workers: where the two runs' work is done."""
    factory = progress_factory(progress)
    return run_sync(lambda: arun_defend(target, constitution, bench, modes, critic, check_critic, limit, sample,
                                        lang, out, benign, benign_limit, params, concurrency, factory, **where))


async def arun_defend(target: str, constitution: str, bench: str | None = None, modes: str = "system",
                      critic: str | None = None, check_critic: str | None = None, limit: int | None = None,
                      sample: int | None = None, lang: str | None = None, out: str | Path | None = None,
                      benign: str = "all", benign_limit: int | None = None, params: GenParams | None = None,
                      concurrency: int | None = None, progress: ProgressFactory | None = None,
                      **where: Any) -> dict[str, Any]:
    """`run_defend` in one event loop: two pipeline runs, the routing check and the over-refusal measurement."""
    from seval.defense.spec import resolve_defense

    spec = f"constitution:{constitution}?modes={modes.replace('+', ',')}"
    if check_critic:
        spec += f"&critic={check_critic}"
    defense = resolve_defense(spec)  # validate everything before any model call
    out_dir = Path(out) if out else Path("seval-runs") / _slug(f"defend__{target}__{constitution}__{modes}")
    out_dir.mkdir(parents=True, exist_ok=True)
    bench_used: str | None = bench
    if sample:
        bench_used = str(sample_bench(bench, sample, out_dir / BENCH_SAMPLE, lang))
    # in-process models get 128 tokens here (a defended answer needs room to refuse politely), remote 256
    params = params or GenParams(max_tokens=128 if default_max_tokens(target) == LOCAL_MAX_TOKENS else 256)
    common: dict[str, Any] = dict(target=target, bench=bench_used, critic=critic, concurrency=concurrency,
                                  limit=limit, lang=lang, params=params, **where)
    base = await execute(RunConfig(out=out_dir / "without", **common), progress=progress)
    withd = await execute(RunConfig(out=out_dir / "with", defense=spec, **common), progress=progress)
    base_rows, def_rows = base.rows, withd.rows
    report: dict[str, Any] = {
        "version": DEFEND_VERSION, "target": target, "defense": spec, "defense_config": defense.config(),
        "bench": bench_used or "starter", "critic": base.summary.get("run", {}).get("critic", critic),
        "params": params.to_dict(), "runs": {"without": str(base.out_dir), "with": str(withd.out_dir)},
        "critic_validation": base.summary.get("critic"),
    }
    report.update(compare_runs(base_rows, def_rows))
    report["cost"] = cost(base_rows, def_rows)
    report["routing"] = await routing_stats(defense, base_rows)
    if benign != "none":
        report["over_refusal"] = await _benign(target, spec, benign, benign_limit, params, concurrency, progress,
                                               out_dir)
    from seval.models.base import resolve_model

    report["target_max_batch"] = resolve_model(target).max_batch  # no model is loaded by resolving
    report["notes"] = _notes(report)
    write_json(out_dir / DEFENSE, report)
    report["out_dir"] = str(out_dir)
    return report


async def _benign(target: str, spec: str, benign: str, limit: int | None, params: GenParams,
                  concurrency: int | None, progress: ProgressFactory | None, out_dir: Path) -> dict[str, Any]:
    from seval.defense.overrefusal import compare_refusals, load_benign, measure_refusals
    from seval.defense.spec import resolve_defense
    from seval.models.base import resolve_model
    from seval.runs.pipeline import no_progress

    prompts = load_benign(benign, limit)
    result: dict[str, Any] = {"set": benign, "n_prompts": len(prompts)}
    outcomes = {}
    for name in ("without", "with"):
        backend = resolve_model(target)
        model = resolve_defense(spec).wrap(backend) if name == "with" else backend
        try:
            with (progress or no_progress)(len(prompts), f"benign {name} defense") as advance:
                outcomes[name] = await measure_refusals(
                    model, prompts, params, concurrency,
                    on_done=(lambda a=advance: a(1)) if advance is not None else None)  # type: ignore[misc]
        finally:
            await model.aclose()
    with open(out_dir / BENIGN_RESPONSES, "w", encoding="utf-8") as fh:
        for name, rows in outcomes.items():
            for o in rows:
                fh.write(json.dumps({"run": name, **o.to_dict()}, ensure_ascii=False) + "\n")
    result["refusal"] = compare_refusals(outcomes["without"], outcomes["with"])
    result["cost"] = refusal_cost(outcomes["without"], outcomes["with"])
    result["detector"] = "seval.critic.refusal.detect_refusal + seval/defense/data/refusal_extra.yaml"
    return result


def _notes(rep: dict[str, Any]) -> list[str]:
    notes = []
    ov = rep["safety"]["overall"]
    if ov["n"] and ov["n"] < 100:
        notes.append(f"only {ov['n']} paired base prompts: intervals are wide; use more prompts for a firm answer")
    if ov["excluded_unjudged"]:
        notes.append(f"{ov['excluded_unjudged']} prompts without a safe/unsafe verdict in one of the runs were left out")
    if ov["gain"] is not None and ov["gain_lo"] is not None and ov["gain_lo"] <= 0 <= ov["gain_hi"]:
        notes.append("the overall safety gain is not distinguishable from zero at 95%")
    if (rep.get("target_max_batch") or 1) > 1:
        notes.append("latency is as the backend reports it: this batched in-process backend gives every request "
                     "its batch's wall time")
    if rep.get("critic") == "rule":
        notes.append("the rule critic only detects refusals: a safe, helpful non-refusal counts as unsafe")
    return notes


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:100] or "defend"
