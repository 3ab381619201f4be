"""The `seval audit` actions on a run folder: draw the sample, import labels, label in the terminal, and keep
summary.json's `audit` block up to date after each."""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from seval.audit.block import refresh_summary
from seval.audit.design import draw, is_auditable, parse_strata
from seval.audit.export import sample_records, write_sample
from seval.audit.importer import import_labels
from seval.audit.labels import AuditStore
from seval.audit.terminal import label_session
from seval.runs.folder import RESULTS, STORE, SUMMARY, RunFolder


def default_annotator() -> str:
    """$SEVAL_ANNOTATOR, else the login name."""
    try:
        return os.environ.get("SEVAL_ANNOTATOR") or getpass.getuser()
    except Exception:  # no login name (some containers)
        return "annotator"


def _folder(run_dir: str | Path) -> RunFolder:
    folder = RunFolder(run_dir)
    folder.require(RESULTS, SUMMARY, STORE)
    return folder


def rows_by_id(folder: RunFolder, only: set[str] | None = None) -> dict[str, dict[str, Any]]:
    """The auditable rows of the run by id (base prompts with a safe or unsafe verdict), or those in `only`."""
    return {str(r["id"]): r for r in folder.iter_dicts()
            if is_auditable(r) and (only is None or str(r["id"]) in only)}


def draw_sample(run_dir: str | Path, n: int, out: str | Path, strata: str | Sequence[str] | None = None,
                seed: int = 0, fmt: str | None = None) -> dict[str, Any]:
    """Draw (or draw again, identically) the audit sample, store its design and write it to `out`."""
    folder = _folder(run_dir)
    names = parse_strata(strata)
    rows = rows_by_id(folder)
    drawn = draw(list(rows.values()), n, names, seed)
    design = {"n": n, "strata": list(names), "seed": seed, "population": len(rows)}
    with AuditStore(folder.path) as st:
        st.save_sample(drawn, design)
        drawn = st.sample()
    path = write_sample(out, sample_records(drawn, rows), fmt)
    sizes: dict[str, list[int]] = {}
    for d in drawn:
        sizes[d.stratum] = [d.stratum_size, d.stratum_drawn]
    return {"run": str(folder.path), "out": str(path), "drawn": len(drawn), "population": len(rows),
            "strata": {k: {"rows": v[0], "drawn": v[1]} for k, v in sorted(sizes.items())}}


def import_file(run_dir: str | Path, labels: str | Path, annotator: str | None = None) -> dict[str, Any]:
    """Import a labels file; returns what was added, changed, unchanged and skipped (by line), and the block."""
    folder = _folder(run_dir)
    with AuditStore(folder.path) as st:
        report = import_labels(st, labels, annotator or default_annotator())
    return {**report.to_dict(), "audit": refresh_summary(folder.path)}


def label_terminal(run_dir: str | Path, getchar: Callable[[], str], echo: Callable[[str], None],
                   prompt: Callable[[str], str], annotator: str | None = None,
                   show_verdict: bool = False) -> dict[str, Any]:
    """The terminal labelling session (seval.audit.terminal), then the summary's audit block refreshed."""
    folder = _folder(run_dir)
    with AuditStore(folder.path) as st:
        rows = rows_by_id(folder, {d.id for d in st.require_sample()})
        res = label_session(st, rows, annotator or default_annotator(), getchar, echo, prompt,
                            show_verdict)
    return {**res.to_dict(), "audit": refresh_summary(folder.path)}
