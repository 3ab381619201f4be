"""Importing labels into a real run folder: bad records reported by line and skipped, re-import idempotent,
JSONL / CSV / JSON, several annotators."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

import pytest
from audit_run import truth_labels
from click.testing import CliRunner

from seval.api import audit_import, audit_sample
from seval.cli import cli
from seval.errors import SevalError


def _write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _labels_table(run_dir: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(run_dir / "store.sqlite") as db:
        return sorted(db.execute("SELECT id, annotator, label, note, created FROM audit_labels"))


def test_import_reports_bad_records_by_line_and_reimport_changes_nothing(run_dir: Path, tmp_path: Path) -> None:
    sample = tmp_path / "sample.jsonl"
    audit_sample(run_dir, n=30, out=sample, seed=3)
    good = truth_labels(sample)
    rows: list[dict[str, object]] = [*good[:20]]
    rows.append({"id": "no-such-id", "label": "safe"})  # line 21
    rows.append({"id": good[20]["id"], "label": "harmful"})  # line 22
    rows.append({"id": good[21]["id"], "label": "safe"})  # line 23 and 24 conflict
    rows.append({"id": good[21]["id"], "label": "unsafe"})
    rows.append({**good[0]})  # line 25: an agreeing duplicate is fine
    rows.append({"id": good[22]["id"], "label": None})  # not labelled yet
    labels = _write_jsonl(tmp_path / "labels.jsonl", rows)
    res = audit_import(run_dir, labels=labels, annotator="ann")
    assert (res["added"], res["changed"], res["unchanged"], res["unlabelled"]) == (20, 0, 0, 1)
    lines = [p["line"] for p in res["problems"]]
    assert lines == [21, 22, 23, 24]
    text = " | ".join(p["problem"] for p in res["problems"])
    assert "unknown id 'no-such-id'" in text and "bad label 'harmful'" in text and "conflicting" in text
    before = _labels_table(run_dir)
    assert len(before) == 20
    again = audit_import(run_dir, labels=labels, annotator="ann")
    assert (again["added"], again["changed"], again["unchanged"]) == (0, 0, 20)
    assert _labels_table(run_dir) == before  # timestamps included: nothing was rewritten
    summary = json.loads((run_dir / "summary.json").read_text("utf-8"))
    assert summary["audit"]["source"] == "audit" and summary["audit"]["sample"]["labelled"] == 20


def test_csv_and_page_json_imports_and_annotator_from_the_file(run_dir: Path, tmp_path: Path) -> None:
    sample = tmp_path / "sample.csv"
    audit_sample(run_dir, n=24, out=sample, fmt="csv")
    with open(sample, encoding="utf-8", newline="") as fh:
        recs = list(csv.DictReader(fh))
    assert len(recs) == 24 and recs[0]["label"] == "" and float(recs[0]["weight"]) >= 1
    truth = {r["id"]: r["label"] for r in truth_labels_from_csv(recs)}
    for r in recs:
        r["label"], r["annotator"] = truth[r["id"]], "alice"
    filled = tmp_path / "filled.csv"
    with open(filled, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(recs[0]))
        w.writeheader()
        w.writerows(recs)
    assert audit_import(run_dir, labels=filled)["added"] == 24
    page = tmp_path / "labels-run.json"  # the audit page's export: a second annotator, one disagreement
    items = [{"id": r["id"], "label": truth[r["id"]], "annotator": "bob", "note": None} for r in recs]
    items[0]["label"] = "safe" if items[0]["label"] == "unsafe" else "unsafe"
    page.write_text(json.dumps({"run": "run", "labels": items}), encoding="utf-8")
    res = audit_import(run_dir, labels=page)
    assert res["added"] == 24 and not res["problems"]
    assert res["audit"]["sample"]["disputed"] == 1 and res["audit"]["sample"]["annotators"] == ["alice", "bob"]


def truth_labels_from_csv(recs: list[dict[str, str]]) -> list[dict[str, str]]:
    from audit_run import truth_of

    return [{"id": r["id"], "label": truth_of(int(r["id"][1:]))} for r in recs]


def test_cli_errors_are_one_line(run_dir: Path, tmp_path: Path) -> None:
    labels = _write_jsonl(tmp_path / "l.jsonl", [{"id": "c001", "label": "safe"}])
    with pytest.raises(SevalError, match="no audit sample yet"):
        audit_import(run_dir, labels=labels)
    runner = CliRunner()
    got = runner.invoke(cli, ["audit", str(run_dir), "--sample", "1", "--out", str(tmp_path / "s.jsonl")])
    assert got.exit_code != 0 and "strata" in str(got.exception)
    got = runner.invoke(cli, ["audit", str(run_dir)])
    assert "give one of" in str(got.exception)
    ok = runner.invoke(cli, ["audit", str(run_dir), "--sample", "20", "--out", str(tmp_path / "s.jsonl")])
    assert ok.exit_code == 0, ok.output
    assert "20 of 120 judged rows" in ok.output
