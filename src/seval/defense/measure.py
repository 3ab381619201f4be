"""`seval defend`'s library side: the same benchmark with and without a defense, plus over-refusal and cost.

Safety gains are paired (same test cases, joined on id): the difference of safe shares over cases judged in
both runs, with Newcombe's 95% interval for paired proportions (the paired bootstrap's is kept in the JSON as
`*_boot_lo/hi`) and an exact McNemar p-value (seval.metrics.compare).
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from seval.errors import SevalError
from seval.records import GenParams, ResultRow

DEFEND_VERSION = 1


def sample_bench(bench: str | Path | None, n: int, out: Path, lang: str | None = None) -> Path:
    """A deterministic sample of `n` cases spread over dimensions (round robin), written as JSONL to `out`."""
    from seval.api import load_cases
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


def _rows_where(rows: Iterable[ResultRow], **eq: Any) -> list[ResultRow]:
    return [r for r in rows if all(getattr(r, k) == v for k, v in eq.items())]


def compare_runs(base_rows: list[ResultRow], def_rows: list[ResultRow]) -> dict[str, Any]:
    """Safety per dimension (base prompts) and ASR per attack (attack prompts), without vs. with the defense."""
    from seval.defense.stats import newcombe_paired
    from seval.metrics.compare import compare

    def pair(a: list[ResultRow], b: list[ResultRow], attacks: bool) -> dict[str, Any]:
        # compare(A, B) gives safety(A) - safety(B): A = defended, B = baseline, so diff = safety gained
        c = compare(a, b, attacks=attacks)
        lo, hi = newcombe_paired(c["both_safe"], c["a_safe_b_unsafe"], c["a_unsafe_b_safe"], c["both_unsafe"])
        return {"n": c["n_pairs"], "without": c["b"], "with": c["a"], "gain": c["diff"], "gain_lo": lo,
                "gain_hi": hi, "gain_boot_lo": c["diff_lo"], "gain_boot_hi": c["diff_hi"], "p_value": c["p_value"],
                "fixed": c["a_safe_b_unsafe"], "broken": c["a_unsafe_b_safe"],
                "excluded_unjudged": c["excluded_unjudged"]}

    safety: dict[str, Any] = {"overall": pair(def_rows, base_rows, False), "by_dimension": {}, "by_language": {}}
    dims = sorted({r.dimension for r in base_rows if r.dimension and not r.attack})
    for d in dims:
        safety["by_dimension"][d] = pair(_rows_where(def_rows, dimension=d), _rows_where(base_rows, dimension=d), False)
    for lang in sorted({r.lang for r in base_rows if not r.attack}):
        safety["by_language"][lang] = pair(_rows_where(def_rows, lang=lang), _rows_where(base_rows, lang=lang), False)
    attacks: dict[str, Any] = {}
    for a in sorted({r.attack for r in base_rows if r.attack}):
        blk = pair(_rows_where(def_rows, attack=a), _rows_where(base_rows, attack=a), True)
        # ASR = share unsafe = 1 - safety; the ASR reduction equals the safety gain on the same pairs
        attacks[a] = {"n": blk["n"], "asr_without": _flip(blk["without"]), "asr_with": _flip(blk["with"]),
                      "reduction": blk["gain"], "reduction_lo": blk["gain_lo"], "reduction_hi": blk["gain_hi"],
                      "p_value": blk["p_value"]}
    return {"safety": safety, "attacks": attacks}


def _flip(block: dict[str, Any]) -> dict[str, Any]:
    if block.get("rate") is None:
        return dict(block)
    return {"rate": 1 - block["rate"], "lo": 1 - block["hi"], "hi": 1 - block["lo"], "n": block["n"]}


def _mean(xs: list[float]) -> float | None:
    return statistics.fmean(xs) if xs else None


def cost(base_rows: list[ResultRow], def_rows: list[ResultRow]) -> dict[str, Any]:
    """Mean prompt tokens, completion tokens and latency per answered request, and the defense's extra."""
    out: dict[str, Any] = {}
    for name, rows in (("without", base_rows), ("with", def_rows)):
        ok = [r for r in rows if r.status == "ok"]
        out[name] = {"n": len(ok), "prompt_tokens": _mean([r.prompt_tokens for r in ok]),
                     "completion_tokens": _mean([r.completion_tokens for r in ok]),
                     "latency_s": _mean([r.latency_s for r in ok])}
    for key in ("prompt_tokens", "completion_tokens", "latency_s"):
        a, b = out["with"][key], out["without"][key]
        out[f"extra_{key}"] = (a - b) if a is not None and b is not None else None
    return out


def refusal_cost(base: list[Any], defended: list[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, rows in (("without", base), ("with", defended)):
        ok = [o for o in rows if o.refused is not None]
        out[name] = {"n": len(ok), "prompt_tokens": _mean([o.prompt_tokens for o in ok]),
                     "completion_tokens": _mean([o.completion_tokens for o in ok]),
                     "latency_s": _mean([o.latency_s for o in ok])}
    for key in ("prompt_tokens", "latency_s"):
        a, b = out["with"][key], out["without"][key]
        out[f"extra_{key}"] = (a - b) if a is not None and b is not None else None
    routed = [o for o in defended if o.defense]
    out["share_given_specific_clauses"] = (sum(1 for o in routed if len(o.defense["clauses"]) > 1) / len(routed)
                                           if routed else None)
    return out


async def routing_stats(defense: Any, rows: list[ResultRow]) -> dict[str, Any]:
    """How the router saw the benchmark's base prompts: share routed to any clause, and to the right dimension."""
    base = [r for r in rows if not r.attack and r.dimension]
    if not base:
        return {}
    sels = await defense.plan([r.prompt for r in base])
    routed = [(r, s) for r, s in zip(base, sels, strict=True) if s.routed or s.routed_dims]
    right_dim = 0
    right_cat = 0
    from seval.taxonomy import load_taxonomy

    tax = load_taxonomy()
    for r, s in routed:
        dims = {tax.find_category(c).dimension for c in s.routed if tax.find_category(c)}  # type: ignore[union-attr]
        dims |= set(s.routed_dims)
        right_dim += r.dimension in dims
        right_cat += bool(r.category) and r.category in s.routed
    n = len(base)
    return {"n": n, "routed": len(routed) / n, "routed_right_dimension": right_dim / n,
            "routed_right_category": right_cat / n,
            "jailbreak_flagged": sum(1 for s in sels if s.jailbreak) / n}


def run_defend(target: str, constitution: str, bench: str | None = None, modes: str = "system",
               critic: str | None = None, check_critic: str | None = None, limit: int | None = None,
               sample: int | None = None, lang: str | None = None, out: str | Path | None = None,
               benign: str = "all", benign_limit: int | None = None, params: GenParams | None = None,
               concurrency: int | None = None, progress: bool = True) -> dict[str, Any]:
    """Run the benchmark without and with the defense, measure over-refusal, write and return defense.json."""
    import asyncio

    from seval.api import run_benchmark
    from seval.defense.spec import resolve_defense

    spec = f"constitution:{constitution}?modes={modes.replace('+', ',')}"
    if check_critic:
        spec += f"&critic={check_critic}"
    defense = resolve_defense(spec)  # validate everything before any model call
    out_dir = Path(out) if out else Path("seval-runs") / _slug(f"defend__{target}__{constitution}__{modes}")
    out_dir.mkdir(parents=True, exist_ok=True)
    bench_used: str | None = bench
    if sample:
        bench_used = str(sample_bench(bench, sample, out_dir / "bench_sample.jsonl", lang))
    params = params or GenParams(max_tokens=128 if target.startswith(("local:", "llama-cpp:")) else 256)
    common = dict(bench=bench_used, critic=critic, concurrency=concurrency, limit=limit, lang=lang, params=params,
                  progress=progress)
    base = run_benchmark(target, out=out_dir / "without", **common)
    withd = run_benchmark(target, out=out_dir / "with", defense=spec, **common)
    base_rows, def_rows = base.rows, withd.rows
    report: dict[str, Any] = {
        "version": DEFEND_VERSION, "target": target, "defense": spec, "defense_config": defense.config(),
        "bench": bench_used or "starter", "critic": base.summary.get("run", {}).get("critic", critic),
        "params": params.to_dict(), "runs": {"without": str(base.out_dir), "with": str(withd.out_dir)},
    }
    report.update(compare_runs(base_rows, def_rows))
    report["cost"] = cost(base_rows, def_rows)
    report["routing"] = asyncio.run(routing_stats(defense, base_rows))
    if benign != "none":
        report["over_refusal"] = asyncio.run(_benign(target, spec, benign, benign_limit, params, concurrency,
                                                     progress, out_dir))
    from seval.models.base import resolve_model

    report["target_max_batch"] = resolve_model(target).max_batch  # no model is loaded by resolving
    report["notes"] = _notes(report)
    (out_dir / "defense.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    report["out_dir"] = str(out_dir)
    return report


async def _benign(target: str, spec: str, benign: str, limit: int | None, params: GenParams,
                  concurrency: int | None, progress: bool, out_dir: Path) -> dict[str, Any]:
    from seval.defense.overrefusal import compare_refusals, load_benign, measure_refusals
    from seval.defense.spec import resolve_defense
    from seval.models.base import resolve_model

    prompts = load_benign(benign, limit)
    result: dict[str, Any] = {"set": benign, "n_prompts": len(prompts)}
    outcomes = {}
    for name in ("without", "with"):
        backend = resolve_model(target)
        model = resolve_defense(spec).wrap(backend) if name == "with" else backend
        try:
            if progress:
                from seval.runner.progress import progress_bar

                with progress_bar(len(prompts), f"benign {name} defense") as advance:
                    outcomes[name] = await measure_refusals(model, prompts, params, concurrency,
                                                            on_done=lambda: advance(1))
            else:
                outcomes[name] = await measure_refusals(model, prompts, params, concurrency)
        finally:
            await model.aclose()
    with open(out_dir / "benign_responses.jsonl", "w", encoding="utf-8") as fh:
        for name, rows in outcomes.items():
            for o in rows:
                fh.write(json.dumps({"run": name, **o.to_dict()}, ensure_ascii=False) + "\n")
    from seval.defense.measure import refusal_cost

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
    import re

    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:100] or "defend"
