"""Shared pieces of the studies: writing study.json and condensing a run into the numbers a study shows."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from seval.errors import SevalError


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def parse_floats(text: str, name: str) -> list[float]:
    """'0,0.7,1.0' -> [0.0, 0.7, 1.0], with a one-line error naming the option."""
    try:
        vals = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise SevalError(f"{name}: expected comma-separated numbers, got {text!r}") from None
    if not vals:
        raise SevalError(f"{name}: give at least one value")
    return vals


def condense(summary: dict[str, Any]) -> dict[str, Any]:
    """The headline numbers of one run's summary (what a study table shows per run)."""
    return {
        "safety": summary["safety"]["overall"],
        "by_language": summary["safety"]["by_language"],
        "by_dimension": {k: {x: v[x] for x in ("rate", "lo", "hi", "n")}
                         for k, v in summary["safety"]["by_dimension"].items()},
        "mean_asr": summary["attacks"]["mean_asr"],
        "adaptive": summary["attacks"]["adaptive"],
        "invalid": summary["invalid"]["count"],
        "errors": summary["errors"]["count"],
        "content_filter": summary["errors"]["content_filter"],
    }


def write_study(out: Path, data: dict[str, Any]) -> Path:
    """Write DIR/study.json (the report shows it as a section when given DIR)."""
    out.mkdir(parents=True, exist_ok=True)
    from seval.runs.folder import STUDY

    path = out / STUDY
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    return path


def run_one(target: Any, bench: str | None, critic: str | None, out: Path, limit: int | None, lang: str | None,
            params: Any, progress: bool = True) -> Path:
    """One benchmark run through the run pipeline; returns its run directory."""
    from seval.runs.pipeline import RunConfig, execute, progress_factory, run_sync

    config = RunConfig(target=target, bench=bench, critic=critic, out=out, limit=limit, lang=lang, params=params)
    res = run_sync(lambda: execute(config, progress=progress_factory(progress)))
    return Path(res.out_dir)
