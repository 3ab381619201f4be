"""The report's audit section: raw vs corrected safety per run (summary.json's `audit` block) and the data of
the offline labelling page (each run's audit sample with the labels stored so far)."""

from __future__ import annotations

from typing import Any

from seval.report.load import RunData, _cap


def audit_rows(run: RunData) -> list[dict[str, Any]]:
    """(scope, raw block, corrected block) rows of one run, overall then per language and dimension."""
    audit = run.summary.get("audit") or {}
    cs, raw = audit.get("corrected_safety") or {}, run.summary["safety"]
    out = [{"scope": "overall", "raw": raw["overall"], "corrected": cs.get("overall") or {}}]
    for key, title in (("by_language", "language"), ("by_dimension", "dimension")):
        for k, b in (cs.get(key) or {}).items():
            out.append({"scope": f"{title} {k}", "raw": raw[key].get(k) or {}, "corrected": b})
    return out


def sample_items(run: RunData) -> list[dict[str, Any]]:
    """The run's audit sample in labelling order with texts and stored labels ([] when none was drawn)."""
    from seval.audit.block import _has_audit
    from seval.audit.labels import AuditStore, resolve
    from seval.runs.folder import RunFolder

    folder = RunFolder(run.path)
    if not _has_audit(folder):
        return []
    with AuditStore(folder.path) as st:
        drawn, (labels, _) = st.sample(), resolve(st.labels())
    ids = {d.id for d in drawn}
    rows = {str(r.get("id")): r for r in folder.iter_dicts() if str(r.get("id")) in ids}
    return [{"id": d.id, "lang": rows.get(d.id, {}).get("lang"), "dimension": rows.get(d.id, {}).get("dimension"),
             "prompt": _cap(rows.get(d.id, {}).get("prompt")), "response": _cap(rows.get(d.id, {}).get("response")),
             "label": labels.get(d.id)} for d in drawn]


def audit_context(runs: list[RunData]) -> dict[str, Any]:
    """`tables`: runs with an audit block; `pages`: runs with a sample to label (the page's JSON data)."""
    tables = [{"label": r.label, "source": r.summary["audit"].get("source"), "note": r.summary["audit"].get("note"),
               "judge": {k: r.summary["audit"].get(k) for k in ("agreement", "sensitivity", "specificity")},
               "rows": audit_rows(r)} for r in runs if r.summary.get("audit")]
    pages = [{"run": r.label, "name": r.path.name, "items": items} for r in runs if (items := sample_items(r))]
    return {"tables": tables, "pages": pages}
