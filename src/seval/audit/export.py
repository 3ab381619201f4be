"""Writing the drawn sample for people to label: JSONL (one object a line) or CSV (for a spreadsheet), with
`label` empty; either file, once filled in, is imported with `seval audit RUN --labels FILE`."""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from seval.audit.design import Drawn
from seval.errors import SevalError

COLUMNS = ["id", "lang", "dimension", "prompt", "response", "verdict", "score", "explanation", "stratum", "weight",
           "label", "note", "annotator"]
FORMATS = ("jsonl", "csv")


def sample_records(drawn: Sequence[Drawn], rows: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One record per drawn row, in labelling order, with its stratum and weight and no label yet."""
    out = []
    for d in drawn:
        r = rows.get(d.id) or {}
        out.append({"id": d.id, "lang": r.get("lang"), "dimension": r.get("dimension"), "prompt": r.get("prompt"),
                    "response": r.get("response"), "verdict": r.get("verdict"), "score": r.get("score"),
                    "explanation": r.get("explanation"), "stratum": d.stratum, "weight": round(d.weight, 6),
                    "label": None, "note": None, "annotator": None})
    return out


def write_sample(path: str | Path, records: Sequence[Mapping[str, Any]], fmt: str | None = None) -> Path:
    """Write the records as JSONL or CSV (format from `fmt`, else the file's suffix)."""
    p = Path(path)
    fmt = fmt or ("csv" if p.suffix.lower() == ".csv" else "jsonl")
    if fmt not in FORMATS:
        raise SevalError(f"--format {fmt}: valid formats are {', '.join(FORMATS)}")
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        if fmt == "csv":
            w = csv.DictWriter(fh, fieldnames=COLUMNS)
            w.writeheader()
            for rec in records:
                w.writerow({k: "" if rec.get(k) is None else rec.get(k) for k in COLUMNS})
        else:
            for rec in records:
                fh.write(json.dumps(dict(rec), ensure_ascii=False) + "\n")
    tmp.replace(p)
    return p
