"""Assemble a report from run and study directories: the context shared by the HTML page and the exports."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path
from typing import Any

from seval import __version__
from seval.errors import SevalError
from seval.metrics.compare import compare_outcomes
from seval.report import charts
from seval.report.audit import audit_context
from seval.report.leaderboard import build_leaderboard, label_runs
from seval.report.load import EXAMPLE_COLUMNS, RunData, example_record, is_study_dir, load_run, load_study
from seval.report.redteam import RedteamData, example_records, is_redteam_dir, load_redteam, redteam_context
from seval.runs.folder import RunFolder

#: default cap on examples embedded in the HTML page, over all runs together
DEFAULT_MAX_EXAMPLES = 12000


def _taxonomy() -> Any:
    try:
        from seval.taxonomy import load_taxonomy

        return load_taxonomy()
    except Exception:  # a report must still build if the taxonomy file is broken or missing
        return None


def load_inputs(paths: list[str | Path], max_examples: int = DEFAULT_MAX_EXAMPLES,
                taxonomy: Any = None) -> tuple[list[RunData], list[dict[str, Any]]]:
    """Split the given directories into runs (results.jsonl) and studies (study.json) and load them."""
    runs, studies, _ = load_all(paths, max_examples, taxonomy)
    return runs, studies


def load_all(paths: list[str | Path], max_examples: int = DEFAULT_MAX_EXAMPLES, taxonomy: Any = None
             ) -> tuple[list[RunData], list[dict[str, Any]], list[RedteamData]]:
    """Runs (results.jsonl), studies (study.json) and red-team folders (redteam.jsonl), loaded."""
    if not paths:
        raise SevalError("give at least one run directory (or study directory) to report on")
    run_paths, studies, red_paths = [], [], []
    for raw in paths:
        p = Path(raw)
        if not p.is_dir():
            raise SevalError(f"{p}: not a directory (expected a run directory with results.jsonl or a study dir)")
        if is_study_dir(p):
            studies.append(load_study(p))
        elif RunFolder(p).exists():
            run_paths.append(p)
        elif is_redteam_dir(p):
            red_paths.append(p)
        else:
            raise SevalError(f"{p}: neither results.jsonl nor study.json found (nor a red-team redteam.jsonl)")
    n = len(run_paths) + len(red_paths)
    per_run = max(100, max_examples // max(1, n)) if max_examples else 0
    runs = [load_run(p, max_examples=per_run, taxonomy=taxonomy, seed=i) for i, p in enumerate(run_paths)]
    label_runs(runs)
    redteams = [load_redteam(p, max_examples=per_run) for p in red_paths]
    return runs, studies, redteams


def defense_pairs(runs: list[RunData]) -> list[dict[str, Any]]:
    """Runs that differ only by defense (same benchmark, target, critic, params): with vs. without."""
    groups: dict[tuple[Any, ...], list[RunData]] = defaultdict(list)
    for r in runs:
        m = r.meta
        key = (r.bench_sha, r.target, m.get("critic_hash") or m.get("critic"), repr(sorted((m.get("params") or {}).items())),
               m.get("lang"), m.get("limit"))
        if r.bench_sha:
            groups[key].append(r)
    out = []
    for members in groups.values():
        plain = [r for r in members if not r.meta.get("defense")]
        defended = [r for r in members if r.meta.get("defense")]
        if not plain or not defended:
            continue
        base = plain[0]
        for d in defended:
            c = compare_outcomes(d.outcomes, base.outcomes)
            out.append({
                "target": base.target, "defense": d.meta["defense"], "without": base.label, "with": d.label,
                "safety_without": base.summary["safety"]["overall"], "safety_with": d.summary["safety"]["overall"],
                "asr_without": base.summary["attacks"]["mean_asr"], "asr_with": d.summary["attacks"]["mean_asr"],
                "adaptive_without": base.summary["attacks"]["adaptive"],
                "adaptive_with": d.summary["attacks"]["adaptive"],
                "paired": c,
            })
    return out


def language_pairs(run: RunData) -> dict[str, Any] | None:
    """zh vs. en on linked base prompts (en rows' from_id -> the zh row): paired safety difference zh - en."""
    if not run.links:
        return None
    zh, en = {}, {}
    for en_id, zh_id in run.links.items():
        if zh_id in run.outcomes:
            zh[zh_id] = run.outcomes[zh_id]
            en[zh_id] = run.outcomes[en_id]
    if not zh:
        return None
    return compare_outcomes(zh, en, n_boot=2000)


def _series(name: str, blocks: list[dict[str, Any] | None]) -> charts.Series:
    return charts.Series(name, [b["rate"] if b else None for b in blocks], [b["lo"] if b else None for b in blocks],
                         [b["hi"] if b else None for b in blocks], [b["n"] if b else 0 for b in blocks])


def _ordered_keys(runs: list[RunData], section: str, key: str, order: list[str]) -> list[str]:
    seen: set[str] = set()
    for r in runs:
        seen.update(r.summary[section][key])
    rank = {k: i for i, k in enumerate(order)}
    return sorted(seen, key=lambda k: (rank.get(k, len(rank)), k))


def build_context(runs: list[RunData], studies: list[dict[str, Any]], taxonomy: Any = None,
                  redteams: list[RedteamData] | None = None) -> dict[str, Any]:
    """Everything the template and the exports show, as plain data (plus SVG markup for the page)."""
    names: dict[str, str] = {}
    dim_order: list[str] = []
    cat_order: list[str] = []
    if taxonomy is not None:
        dim_order = [d.id for d in taxonomy.dimensions]
        cat_order = [c.id for c in taxonomy.categories]
        names = {d.id: d.name_en for d in taxonomy.dimensions} | {c.id: c.name_en for c in taxonomy.categories}
    board = build_leaderboard(runs)
    dims = _ordered_keys(runs, "safety", "by_dimension", dim_order)
    cats = _ordered_keys(runs, "safety", "by_category", cat_order)
    risk_order = [r.id for r in taxonomy.risks] if taxonomy is not None else []
    risks = _ordered_keys(runs, "safety", "by_risk", risk_order)
    risk_names = {r.id: r.name_en for r in taxonomy.risks} if taxonomy is not None else {}
    attacks = _ordered_keys(runs, "attacks", "by_attack", [])
    langs = _ordered_keys(runs, "safety", "by_language", ["zh", "en"])
    svg: dict[str, Any] = {}
    if dims:
        svg["dimensions"] = charts.grouped_bars(
            dims, [_series(r.label, [r.summary["safety"]["by_dimension"].get(d) for d in dims]) for r in runs],
            "Safety score by risk dimension (base prompts)", cat_titles=[f"{d} {names.get(d, '')}" for d in dims])
    if cats:
        svg["heatmap"] = charts.heatmap(
            [r.label for r in runs], [names.get(c, c) for c in cats],
            [[(r.summary["safety"]["by_category"].get(c) or {}).get("rate") for c in cats] for r in runs],
            [[(r.summary["safety"]["by_category"].get(c) or {}).get("n", 0) for c in cats] for r in runs],
            "Safety score (%) by model and risk category", col_titles=cats)
    if attacks:
        svg["attacks"] = charts.grouped_bars(
            attacks, [_series(r.label, [r.summary["attacks"]["by_attack"].get(a) for a in attacks]) for r in runs],
            "Attack success rate by attack", higher_is="more successful attack")
    if len(langs) > 1:
        svg["languages"] = charts.grouped_bars(
            [r.label for r in runs],
            [_series(lang, [r.summary["safety"]["by_language"].get(lang) for r in runs]) for lang in langs],
            "Safety score by language (base prompts)")
    lang_rows = []
    for r in runs:
        pair = language_pairs(r)
        lang_rows.append({"label": r.label, "by_language": r.summary["safety"]["by_language"],
                          "asr_by_language": r.summary["attacks"]["by_language"],
                          "adaptive_by_language": r.summary["attacks"]["adaptive"]["by_language"], "paired": pair})
    dim_table = [{"label": r.label, "cells": [r.summary["safety"]["by_dimension"].get(d) for d in dims]} for r in runs]
    attack_table = [{"label": r.label, "cells": [r.summary["attacks"]["by_attack"].get(a) for a in attacks],
                     "mean": r.summary["attacks"]["mean_asr"], "adaptive": r.summary["attacks"]["adaptive"]}
                    for r in runs]
    failures = [{"label": r.label, "counts": r.summary["counts"], "invalid": r.summary["invalid"],
                 "errors": r.summary["errors"], "flags": r.summary.get("flags") or {}} for r in runs]
    critics = [{"label": r.label, "line": (r.summary.get("critic") or {}).get("line"),
                "validated": bool((r.summary.get("critic") or {}).get("validation"))} for r in runs
               if r.summary.get("critic")]
    return {
        "generated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "seval_version": __version__,
        "runs": runs,
        "n_rows": sum(r.summary["counts"]["total"] for r in runs),
        "leaderboard": board,
        "dims": dims, "cats": cats, "risks": risks, "risk_names": risk_names, "attacks": attacks, "langs": langs, "names": names,
        "dim_table": dim_table, "attack_table": attack_table, "lang_rows": lang_rows,
        "defense": defense_pairs(runs),
        "failures": failures,
        "critics": critics,
        "svg": svg,
        "studies": studies,
        "redteam": redteam_context(redteams or [], runs),
        "audit": audit_context(runs),
    }


def examples_payload(runs: list[RunData], redteams: list[RedteamData] | None = None) -> dict[str, Any]:
    """The drill-down data: compact rows (EXAMPLE_COLUMNS), run labels, and what was sampled out of what;
    red-team attempts come after the runs, each with its conversation (the `turns` column)."""
    rows: list[list[Any]] = []
    sampling = []
    for i, r in enumerate(runs):
        rows.extend(example_record(i, slot, row) for slot, row in r.examples)
        sampling.append({"run": r.label, **{k: v for k, v in r.example_stats.items()}})
    labels = [r.label for r in runs]
    for d in redteams or []:
        rows.extend(example_records(len(labels), d))
        labels.append(d.label)
    return {"columns": EXAMPLE_COLUMNS, "runs": labels, "rows": rows, "sampling": sampling}
