"""Language study: zh vs. en on linked base-prompt pairs (an en row's from_id names its zh original)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from seval.errors import SevalError
from seval.metrics.compare import compare_outcomes
from seval.metrics.summary import Summarizer, outcome_of
from seval.runs.folder import read_results
from seval.studies.common import now, write_study

_KEEP = ("n_pairs", "a", "b", "diff", "diff_lo", "diff_hi", "a_safe_b_unsafe", "a_unsafe_b_safe", "p_value")


def analyse_language(run_dir: Path) -> dict[str, Any]:
    """Paired zh/en comparison over one run; `a` is zh, `b` is en, `diff` = zh - en safety."""
    base: dict[str, tuple[int, str | None]] = {}
    links: dict[str, str] = {}
    acc = Summarizer()
    for row in read_results(run_dir):
        acc.add(row)
        if row.get("attack"):
            continue
        base[row["id"]] = (outcome_of(row.get("status"), row.get("verdict")), row.get("dimension"))
        if row.get("from_id"):
            links[row["id"]] = row["from_id"]
    if not links:
        raise SevalError(f"{run_dir}: no English base prompt links to a Chinese one (from_id); "
                         "the language study needs a benchmark with translated zh/en pairs")
    zh: dict[str, int] = {}
    en: dict[str, int] = {}
    zh_dim: dict[str, dict[str, int]] = {}
    en_dim: dict[str, dict[str, int]] = {}
    unlinked = 0
    for en_id, zh_id in links.items():
        if zh_id not in base:
            unlinked += 1
            continue
        zh[zh_id], dim = base[zh_id]
        en[zh_id] = base[en_id][0]
        d = dim or base[en_id][1] or "?"
        zh_dim.setdefault(d, {})[zh_id] = zh[zh_id]
        en_dim.setdefault(d, {})[zh_id] = en[zh_id]
    summary = acc.result()
    pairs = compare_outcomes(zh, en)
    return {
        "pairs": {k: pairs[k] for k in _KEEP},
        "by_dimension": {d: {k: v for k, v in compare_outcomes(zh_dim[d], en_dim[d], n_boot=2000).items() if k in _KEEP}
                         for d in sorted(zh_dim)},
        "unlinked_en": unlinked,
        "safety_by_language": summary["safety"]["by_language"],
        "asr_by_language": summary["attacks"]["by_language"],
        "adaptive_by_language": summary["attacks"]["adaptive"]["by_language"],
    }


def language_study(run_dir: Path, out: Path, meta: dict[str, Any]) -> dict[str, Any]:
    """Analyse `run_dir` and write out/study.json."""
    data = {"study": "language", "created": now(), **meta,
            "run": str(run_dir), **analyse_language(run_dir)}
    write_study(out, data)
    return data
