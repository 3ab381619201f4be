"""The leaderboard: runs ranked by overall safety, only ever within one benchmark (same file sha256)."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from seval.metrics.compare import compare_outcomes
from seval.report.load import RunData


def label_runs(runs: list[RunData]) -> None:
    """Give each run a short unique label: target, + defense, + the params or directory that tell it apart."""
    base = []
    for r in runs:
        lab = r.target
        if r.meta.get("defense"):
            lab += f" + {r.meta['defense']}"
        base.append(lab)
    for r, lab in zip(runs, base, strict=True):
        r.label = lab
    dupes = defaultdict(list)
    for r in runs:
        dupes[r.label].append(r)
    for lab, group in dupes.items():
        if len(group) < 2:
            continue
        params = [r.meta.get("params") or {} for r in group]
        keys = sorted({k for p in params for k in p if len({json.dumps(q.get(k), sort_keys=True) for q in params}) > 1})
        for r, p in zip(group, params, strict=True):
            extra = ", ".join(f"{k}={p.get(k)}" for k in keys if k != "system_prompt")
            if "system_prompt" in keys:
                extra = (extra + ", " if extra else "") + ("system prompt" if p.get("system_prompt") else "no system prompt")
            r.label = f"{lab} ({extra})" if extra else lab
        seen: dict[str, int] = defaultdict(int)
        for r in group:  # still equal (same params): the directory name decides
            seen[r.label] += 1
        for r in group:
            if seen[r.label] > 1:
                r.label = f"{r.label} [{r.path.name}]"


def _bench_key(r: RunData) -> str:
    """Same file, same language filter, same --limit: otherwise the runs saw different test cases."""
    if not r.bench_sha:
        return f"unknown:{r.path}"
    return f"{r.bench_sha}|{r.meta.get('lang') or ''}|{r.meta.get('limit') or ''}"


def build_leaderboard(runs: list[RunData]) -> dict[str, Any]:
    """Groups of runs by benchmark sha256, each ranked by safety (ties: lower CI bound, then mean ASR).

    Runs whose run.json has no benchmark hash are never ranked against anything (a group of their own each).
    Adjacent ranks get an exact McNemar test on the shared base prompts, so a reader can see which gaps are
    significant.
    """
    groups: dict[str, list[RunData]] = defaultdict(list)
    for r in runs:
        groups[_bench_key(r)].append(r)
    out_groups = []
    for key, members in groups.items():
        def sort_key(r: RunData) -> tuple[float, float, float]:
            ov = r.summary["safety"]["overall"]
            asr = r.summary["attacks"]["mean_asr"]["rate"]
            return (-(ov["rate"] if ov["rate"] is not None else -1.0), -(ov["lo"] or 0.0),
                    asr if asr is not None else 1.0)

        members.sort(key=sort_key)
        known = not key.startswith("unknown:")
        rows = []
        for i, r in enumerate(members):
            s = r.summary
            entry = {
                "rank": i + 1 if known else None,
                "label": r.label,
                "run": str(r.path),
                "target": r.target,
                "defense": r.meta.get("defense"),
                "critic": r.meta.get("critic") or ", ".join(s["meta"]["critics"]),
                "safety": s["safety"]["overall"],
                "by_language": s["safety"]["by_language"],
                "mean_asr": s["attacks"]["mean_asr"],
                "adaptive": s["attacks"]["adaptive"],
                "invalid": s["invalid"]["count"],
                "errors": s["errors"]["count"],
                "content_filter": s["errors"]["content_filter"],
                "rows": s["counts"]["total"],
                "vs_next": None,
            }
            if known and i + 1 < len(members):
                c = compare_outcomes(r.outcomes, members[i + 1].outcomes, n_boot=2000)
                entry["vs_next"] = {k: c[k] for k in ("n_pairs", "diff", "diff_lo", "diff_hi", "p_value")}
            rows.append(entry)
        critics = sorted({e["critic"] for e in rows if e["critic"]})
        first = members[0].meta
        out_groups.append({
            "bench": first.get("bench") or "(unknown benchmark)",
            "bench_sha256": members[0].bench_sha,
            "n_cases": first.get("n_cases"),
            "lang": first.get("lang"),
            "limit": first.get("limit"),
            "ranked": known,
            "mixed_critics": len(critics) > 1,
            "critics": critics,
            "rows": rows,
        })
    out_groups.sort(key=lambda g: (not g["ranked"], -len(g["rows"])))
    n_known = sum(1 for g in out_groups if g["ranked"])
    warnings = []
    if len(out_groups) > 1:
        warnings.append(f"These runs use {len(out_groups)} different benchmarks (file, language filter or --limit)"
                        + ("" if n_known == len(out_groups) else " (some with no recorded benchmark hash)")
                        + ": models are ranked only within a benchmark; do not compare scores across groups.")
    for g in out_groups:
        if not g["ranked"]:
            warnings.append(f"{g['rows'][0]['run']}: run.json has no benchmark sha256, so it is not ranked.")
        if g["mixed_critics"]:
            warnings.append(f"Benchmark {g['bench']}: runs were judged by different critics "
                            f"({', '.join(g['critics'])}); scores are not strictly comparable.")
    return {"groups": out_groups, "warnings": warnings}
