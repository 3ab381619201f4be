"""Importing human labels from a file: JSONL (one object a line; the sample file with its `label` filled in
works), CSV with a header, or JSON (a list of objects, or the audit page's export `{"labels": [...]}`).

Each record: `id`, `label` (safe | unsafe), optional `note` and `annotator`. A record with an unknown id (not in
the audit sample), a bad label, or a label that conflicts with another record of the same file for the same id
and annotator is reported by its line and skipped, never merged. A record with no label (null or empty) is not
labelled yet and is only counted. Re-importing the same file changes nothing.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seval.audit.labels import LABELS, AuditStore, Label
from seval.errors import SevalError


@dataclass
class ImportReport:
    """What an import did: counts, and the skipped records with their line and reason."""

    file: str
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    unlabelled: int = 0
    problems: list[tuple[int, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "added": self.added, "changed": self.changed, "unchanged": self.unchanged,
                "unlabelled": self.unlabelled, "skipped": len(self.problems),
                "problems": [{"line": ln, "problem": msg} for ln, msg in self.problems]}


def _records(path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, record) for each record of the file."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise SevalError(f"cannot read labels file {path}: {exc.strerror or exc}") from None
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames or "id" not in reader.fieldnames or "label" not in reader.fieldnames:
            raise SevalError(f"{path}: a CSV labels file needs a header with id and label")
        for rec in reader:
            yield reader.line_num, rec
        return
    stripped = text.lstrip()
    if stripped.startswith(("[", "{")) and path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SevalError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
        items = data.get("labels") if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise SevalError(f"{path}: expected a list of labels (or an object with a `labels` list)")
        yield from ((i, rec) for i, rec in enumerate(items, 1))
        return
    for lineno, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                yield lineno, json.loads(line)
            except json.JSONDecodeError as exc:
                yield lineno, SevalError(f"not valid JSON ({exc.msg})")


def import_labels(store: AuditStore, path: str | Path, annotator: str) -> ImportReport:
    """Check every record of `path`, then write the good ones to the store in one transaction."""
    p = Path(path)
    report = ImportReport(str(p))
    known = {d.id for d in store.require_sample()}
    stored = {(lb.id, lb.annotator): lb for lb in store.labels()}
    seen: dict[tuple[str, str], tuple[int, Label]] = {}
    conflicted: set[tuple[str, str]] = set()
    where = "line" if p.suffix.lower() != ".json" else "item"
    for lineno, rec in _records(p):
        if isinstance(rec, Exception):
            report.problems.append((lineno, f"{where} {lineno}: {rec}"))
            continue
        if not isinstance(rec, dict):
            report.problems.append((lineno, f"{where} {lineno}: not an object with id and label"))
            continue
        case_id = "" if rec.get("id") is None else str(rec["id"]).strip()
        raw = rec.get("label")
        if raw is None or str(raw).strip() == "":
            report.unlabelled += 1
            continue
        label = str(raw).strip().lower()
        if case_id not in known:
            report.problems.append((lineno, f"{where} {lineno}: unknown id {case_id!r} (not in the audit sample)"))
            continue
        if label not in LABELS:
            report.problems.append((lineno, f"{where} {lineno}: bad label {raw!r} for id {case_id!r} "
                                            "(expected safe or unsafe)"))
            continue
        who = str(rec.get("annotator") or annotator).strip() or annotator
        note = rec.get("note")
        item = Label(case_id, who, label, str(note) if note not in (None, "") else None, p.name)
        key = (case_id, who)
        if key in seen:
            first_line, first = seen[key]
            if first.label != label:
                conflicted.add(key)
                report.problems.append((lineno, f"{where} {lineno}: id {case_id!r} labelled {label} here and "
                                                f"{first.label} on {where} {first_line} by {who}; both skipped"))
            continue
        seen[key] = (lineno, item)
    todo = []
    for key, (lineno, item) in seen.items():
        if key in conflicted:
            report.problems.append((lineno, f"{where} {lineno}: id {item.id!r} skipped (conflicting labels)"))
            continue
        old = stored.get(key)
        if old is not None and (old.label, old.note) == (item.label, item.note):
            report.unchanged += 1
            continue
        if old is None:
            report.added += 1
        else:
            report.changed += 1
        todo.append(Label(item.id, item.annotator, item.label, item.note, item.source, time.time()))
    report.problems.sort()
    store.put(todo)
    return report
