"""summary.json's `audit` block: the judge's agreement with the human labels on this run and the safety score
corrected for the judge's measured error, overall, per language and per dimension.

With labels (`source: audit`) the error rates are measured on this run's own rows; without them
(`source: validation`) the correction uses the critic's recorded validation, measured on other data, and says
so. Rates have the summary's form `{rate, lo, hi, n}` (95% intervals; seval.audit.estimate for the method).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from seval.audit.design import is_auditable
from seval.audit.estimate import (
    N_BOOT,
    Labelled,
    corrected_from_figures,
    corrected_safety,
    judge_rates,
    resample_counts,
)
from seval.audit.labels import AuditStore, resolve
from seval.runs.folder import RunFolder, read_results, write_json

NO_GROUP = "too few labels in this group for its own correction"


def _has_audit(folder: RunFolder) -> bool:
    """Whether the store holds audit tables with a sample (never creates a store)."""
    import sqlite3

    if not folder.store_path.is_file():
        return False
    with sqlite3.connect(folder.store_path) as db:
        return bool(db.execute("SELECT 1 FROM sqlite_master WHERE name = 'audit_sample'").fetchone()) and \
            bool(db.execute("SELECT 1 FROM audit_sample LIMIT 1").fetchone())


def audit_block(run_dir: str | Path, summary: Mapping[str, Any], rows: Iterable[Mapping[str, Any]] | None = None,
                seed: int = 0) -> dict[str, Any] | None:
    """The `audit` block for a run whose summary is `summary` and whose rows (default: results.jsonl) carry
    the verdicts to check; None when there is nothing to say (no verdicts, no labels, no validation)."""
    folder = RunFolder(run_dir)
    safety = summary.get("safety") or {}
    if not (safety.get("overall") or {}).get("n"):
        return None
    if _has_audit(folder):
        with AuditStore(folder.path) as st:
            sample, labels, design = st.sample(), st.labels(), st.design or {}
        if labels:
            return _from_labels(summary, sample, labels, design,
                                rows if rows is not None else read_results(folder.results_path), seed)
    return _from_validation(summary, seed)


def _from_labels(summary: Mapping[str, Any], sample: list[Any], labels: list[Any], design: dict[str, Any],
                 rows: Iterable[Mapping[str, Any]], seed: int) -> dict[str, Any]:
    truth, disputed = resolve(labels)
    in_sample = {d.id: d for d in sample}
    wanted = {i for i in truth if i in in_sample}
    found: dict[str, tuple[str, str, bool]] = {}
    for row in rows:
        rid = str(row.get("id"))
        if rid in wanted and is_auditable(row):
            found[rid] = (str(row.get("lang") or "?"), str(row.get("dimension") or "?"), row["verdict"] == "unsafe")
    ids = sorted(found)
    lab = Labelled.build([in_sample[i].stratum for i in ids], {d.stratum: d.stratum_size for d in sample},
                         [truth[i] == "unsafe" for i in ids], [found[i][2] for i in ids])
    langs = np.array([found[i][0] for i in ids], dtype=object)
    dims = np.array([found[i][1] for i in ids], dtype=object)
    rng = np.random.default_rng(seed)
    counts = resample_counts(lab.stratum, N_BOOT, rng)
    safety = summary["safety"]

    def corrected(block: Mapping[str, Any], mask: np.ndarray | None) -> dict[str, Any]:
        return corrected_safety(lab, int(block["n"]), int(block["unsafe"]), mask, rng=rng, counts=counts)

    by_lang = {lang: corrected(b, langs == lang) for lang, b in safety["by_language"].items() if b.get("n")}
    by_dim = {dim: corrected(b, dims == dim) for dim, b in safety["by_dimension"].items() if b.get("n")}
    missing = sorted(k for k, b in {**by_lang, **by_dim}.items() if b["rate"] is None)
    strata_labelled = len(set(lab.stratum.tolist()))
    strata_all = len({d.stratum for d in sample})
    note = (f"judge error measured on {len(ids)} human labels of this run, weighted by the sampling design; "
            "labelled rows count with their label")
    if strata_labelled < strata_all:
        note += f"; {strata_all - strata_labelled} of {strata_all} strata have no label yet"
    if missing:
        note += f"; {NO_GROUP}: {', '.join(missing)}"
    return {
        "source": "audit",
        "sample": {"drawn": len(sample), "labelled": len(ids), "disputed": disputed,
                   "annotators": sorted({lb.annotator for lb in labels}), "strata": design.get("strata"),
                   "seed": design.get("seed"), "n": design.get("n")},
        **judge_rates(lab),
        "by_language": {lang: judge_rates(lab, langs == lang) for lang in sorted(set(langs.tolist()))},
        "corrected_safety": {"overall": corrected(safety["overall"], None), "by_language": by_lang,
                             "by_dimension": by_dim},
        "note": note,
    }


def _figures(validation: Mapping[str, Any]) -> tuple[dict[str, dict[str, float]], bool]:
    """{lang: {se, se_sd, sp, sp_sd}} from a critic's validation; True when Se = Sp = balanced accuracy had to
    be assumed (the record gives only balanced accuracy)."""
    out: dict[str, dict[str, float]] = {}
    assumed = False
    for lang, m in (validation.get("by_lang") or {}).items():
        ba, ci = m.get("balanced_accuracy"), m.get("ci95") or None
        if m.get("recall") is not None and m.get("specificity") is not None:
            se, sp = float(m["recall"]), float(m["specificity"])
            n_u, n_s = max(1, int(m.get("n_unsafe") or 1)), max(1, int(m.get("n_safe") or 1))
            out[lang] = {"se": se, "se_sd": (se * (1 - se) / n_u) ** 0.5, "sp": sp,
                         "sp_sd": (sp * (1 - sp) / n_s) ** 0.5}
        elif ba is not None:
            sd = (float(ci[1]) - float(ci[0])) / (2 * 1.959964) if ci else 0.05
            out[lang] = {"se": float(ba), "se_sd": sd, "sp": float(ba), "sp_sd": sd}
            assumed = True
    return out, assumed


def _from_validation(summary: Mapping[str, Any], seed: int) -> dict[str, Any] | None:
    critic = summary.get("critic") or {}
    validation = critic.get("validation")
    if not validation:
        return None
    figures, assumed = _figures(validation)
    if not figures:
        return None
    rng = np.random.default_rng(seed)
    safety = summary["safety"]

    def cells(blocks: Mapping[str, Mapping[str, Any]]) -> list[tuple[int, int, dict[str, float] | None]]:
        return [(int(b["n"]), int(b["unsafe"]), figures.get(lang)) for lang, b in blocks.items() if b.get("n")]

    by_lang = {lang: corrected_from_figures(cells({lang: b}), rng=rng)
               for lang, b in safety["by_language"].items() if b.get("n")}
    by_ld = safety.get("by_language_dimension") or {}
    by_dim = {dim: corrected_from_figures(cells({lang: d[dim] for lang, d in by_ld.items() if dim in d}), rng=rng)
              for dim in safety["by_dimension"]}
    uncovered = sorted(set(safety["by_language"]) - set(figures))
    note = ("no audit labels: corrected with the critic's validation figures, measured on other data"
            f" ({validation.get('what') or 'recorded validation'}), not on this run")
    if assumed:
        note += "; the record gives balanced accuracy only, so sensitivity = specificity = it is assumed"
    if uncovered:
        note += f"; no figures for {', '.join(uncovered)}: left out of the overall correction"
    note += "; audit this run (seval audit RUN --sample 150 --out FILE) to measure the judge here"
    return {"source": "validation", "figures": figures,
            "corrected_safety": {"overall": corrected_from_figures(cells(safety["by_language"]), rng=rng),
                                 "by_language": by_lang, "by_dimension": by_dim},
            "note": note}


def refresh_summary(run_dir: str | Path) -> dict[str, Any] | None:
    """Recompute summary.json's `audit` block from the labels now stored (after labelling or an import)."""
    folder = RunFolder(run_dir)
    summary = folder.summary
    block = audit_block(folder.path, summary)
    if block is None:
        summary.pop("audit", None)
    else:
        summary["audit"] = block
    write_json(folder.summary_path, summary)
    return block
