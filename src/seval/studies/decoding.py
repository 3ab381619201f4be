"""Decoding study: the same benchmark over a temperature x top_p grid; each point compared with the first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from seval.metrics.compare import compare_outcomes
from seval.studies.common import condense, now, run_one, write_study


def point_dir(out: Path, temperature: float, top_p: float) -> Path:
    return out / f"t{temperature:g}_p{top_p:g}"


def analyse_decoding(out: Path, grid: list[tuple[float, float]], meta: dict[str, Any]) -> dict[str, Any]:
    """Summaries of the grid's run dirs under `out`, each paired (McNemar) with the first grid point."""
    from seval.report.load import load_run

    runs = [load_run(point_dir(out, t, p), max_examples=0) for t, p in grid]
    base = runs[0]
    points = []
    for (t, p), r in zip(grid, runs, strict=True):
        c = None if r is base else compare_outcomes(r.outcomes, base.outcomes)
        points.append({"temperature": t, "top_p": p, "run": str(r.path.relative_to(out)), **condense(r.summary),
                       "vs_baseline": None if c is None else {k: c[k] for k in
                                                              ("n_pairs", "diff", "diff_lo", "diff_hi", "p_value")}})
    data = {"study": "decoding", "created": now(), **meta,
            "baseline": {"temperature": grid[0][0], "top_p": grid[0][1]}, "points": points}
    write_study(out, data)
    return data


def run_decoding(target: Any, bench: str | None, critic: str | None, out: Path, temperatures: list[float],
                 top_ps: list[float], limit: int | None = None, lang: str | None = None, max_tokens: int = 256,
                 seed: int | None = 0, progress: bool = True) -> dict[str, Any]:
    """Run every (temperature, top_p) point, then write study.json."""
    from seval.records import GenParams

    grid = [(t, p) for t in temperatures for p in top_ps]
    for t, p in grid:
        run_one(target, bench, critic, point_dir(out, t, p), limit, lang,
                GenParams(temperature=t, top_p=p, max_tokens=max_tokens, seed=seed), progress)
    meta = {"target": getattr(target, "spec", target), "bench": bench, "critic": critic, "limit": limit, "lang": lang,
            "max_tokens": max_tokens, "seed": seed, "temperatures": temperatures, "top_ps": top_ps}
    return analyse_decoding(out, grid, meta)
