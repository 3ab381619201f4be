"""Benchmark readers and writers: official S-Eval release files (zipped or not), our JSONL, CSV and Parquet.

Reading streams row by row, so a 110,000-line file costs bounded memory. A malformed line (bad JSON, bytes that
are not UTF-8, a lone surrogate) stops with the file and line number; an unknown risk or attack name stops with
the file, line and the valid ones; a duplicate id stops naming both lines (an identical duplicate row is read
once, with a warning) where ids must be unique (a run's benchmark).
"""

from __future__ import annotations

import csv
import json
import logging
import re
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from seval.errors import SevalError
from seval.lang import detect_lang
from seval.records import TestCase, md5_hex

log = logging.getLogger(__name__)
_LANG_IN_NAME = re.compile(r"(?:^|[_\-./])(zh|en|cn|chinese|english)(?:[_\-./]|$)", re.IGNORECASE)
BASE_MODELS = {"base_risk", "original_risk"}


def lang_from_filename(path: str) -> str | None:
    m = _LANG_IN_NAME.search(Path(path).name)
    if not m:
        return None
    return "zh" if m.group(1).lower() in ("zh", "cn", "chinese") else "en"


def _attack_names() -> set[str]:
    from seval.attacks.base import ATTACKS

    return set(ATTACKS.names())


class _RowMapper:
    """Turns one raw row (S-Eval or ours) into a TestCase, checking risk and attack names."""

    def __init__(self, path: str, keep_unknown_labels: bool = False) -> None:
        from seval.taxonomy import load_taxonomy

        self.path = path
        #: a dimension/category/risk that is not a taxonomy name goes to meta["orig_<field>"] instead of failing
        self.keep_unknown = keep_unknown_labels
        self.tax = load_taxonomy()
        self.file_lang = lang_from_filename(path)
        self._attacks: set[str] | None = None

    def attack_ok(self, name: str, where: str) -> str:
        if self._attacks is None:
            self._attacks = _attack_names()
        if name not in self._attacks:
            raise SevalError(f"{where}: unknown attack {name!r}; valid: {', '.join(sorted(self._attacks))}")
        return name

    def __call__(self, row: dict[str, Any], where: str) -> TestCase:
        if not isinstance(row, dict):
            raise SevalError(f"{where}: expected a JSON object, got {type(row).__name__}")
        prompt = row.get("prompt")
        if not isinstance(prompt, str):
            raise SevalError(f"{where}: missing or non-text 'prompt' field")
        ext = row.get("ext")
        if isinstance(ext, str):
            try:
                ext = json.loads(ext) if ext.strip() else {}
            except json.JSONDecodeError as exc:
                raise SevalError(f"{where}: 'ext' is not valid JSON ({exc.msg})") from None
        ext = ext if isinstance(ext, dict) else {}
        orig: dict[str, Any] = {}
        if self.keep_unknown:
            for key, find in (("dimension", self.tax.find_dimension), ("category", self.tax.find_category)):
                val = row.get(key)
                if val and find(str(val)) is None:
                    orig[f"orig_{key}"] = val
            risk0 = row.get("risk")
            if risk0 and str(risk0) not in {r.id for r in self.tax.risks}:
                orig["orig_risk"] = risk0
        labelled = {**row, **{k.removeprefix("orig_"): None for k in orig}}
        try:
            dimension, category, risk = self._risk(labelled)
        except SevalError as exc:
            raise SevalError(f"{where}: {exc}") from None
        attack = row.get("attack")
        model = ext.get("model")
        if not attack and model == "attack":
            attack = ext.get("category")
            if not attack:
                raise SevalError(f"{where}: attack row without ext.category (the attack name)")
        elif model and model not in BASE_MODELS and model != "attack":
            raise SevalError(f"{where}: unknown ext.model {model!r}; valid: attack, base_risk, original_risk")
        if attack:
            attack = self.attack_ok(str(attack), where)
        lang = row.get("lang") or self.file_lang or detect_lang(prompt)
        if lang not in ("zh", "en"):
            raise SevalError(f"{where}: unknown language {lang!r}; valid: zh, en")
        case_id = row.get("id") or row.get("traceid") or md5_hex(prompt)
        known = {"id", "traceid", "prompt", "lang", "dimension", "category", "risk", "risk_type", "attack", "ext",
                 "base_id", "base_traceid", "from_id", "from_traceid", "turns", "meta"}
        raw_meta = row.get("meta") or {}
        if isinstance(raw_meta, str):  # CSV and Parquet carry meta as a JSON string
            try:
                raw_meta = json.loads(raw_meta) if raw_meta.strip() else {}
            except json.JSONDecodeError:
                raise SevalError(f"{where}: 'meta' is not valid JSON") from None
        meta = dict(raw_meta) if isinstance(raw_meta, dict) else {}
        meta.update({k: v for k, v in row.items() if k not in known})
        meta.update(orig)
        return TestCase(
            id=str(case_id), prompt=prompt, lang=lang, dimension=dimension, category=category,
            risk=str(risk) if risk else None, attack=attack,
            base_id=row.get("base_id") or row.get("base_traceid") or ext.get("base_traceid"),
            from_id=row.get("from_id") or row.get("from_traceid") or ext.get("from_traceid"),
            turns=row.get("turns"), meta=meta,
        )


    def _risk(self, row: dict[str, Any]) -> tuple[str | None, str | None, Any]:
        """(dimension, category, risk) of a row, checked against the taxonomy."""
        dimension = row.get("dimension")
        category = row.get("category")
        if row.get("risk_type"):
            dimension, cat = self.tax.resolve_risk_type(str(row["risk_type"]))
            category = category or cat
        elif dimension:
            dimension = self.tax.dimension(str(dimension)).id
        if category:
            cat_obj = self.tax.category(str(category))
            category, dimension = cat_obj.id, dimension or cat_obj.dimension
        risk = row.get("risk")
        if risk:
            r = self.tax.risk(str(risk))
            category, dimension = category or r.category, dimension or r.dimension
        return dimension, category, risk


def _decode_line(raw: bytes, lineno: int, path: str) -> str:
    """One line of a JSON-lines file as text (a BOM on the first line is dropped); bad bytes name the line."""
    try:
        return raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
    except UnicodeDecodeError as exc:
        hint = "it looks like a binary file" if b"\x00" in raw else "save the file as UTF-8"
        raise SevalError(f"{path}:{lineno}: not valid UTF-8 (byte 0x{raw[exc.start]:02x} at column "
                         f"{exc.start + 1}); {hint}") from None


def _check_text(row: Any, where: str) -> None:
    """A lone surrogate (JSON `\\ud800`) is not text: it would fail later, far from its line."""
    for key, value in row.items() if isinstance(row, dict) else ():
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as exc:
            bad = exc.object[exc.start:exc.end].encode("unicode_escape").decode("ascii")
            raise SevalError(f"{where}: field {key!r} holds a lone surrogate ({bad}), which is not valid text; "
                             f"fix or remove that escape") from None


def _iter_json_lines(stream: Iterable[bytes], path: str) -> Iterator[tuple[dict[str, Any], str]]:
    for lineno, raw in enumerate(stream, 1):
        line = _decode_line(raw, lineno, path)
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SevalError(f"{path}:{lineno}: not valid JSON ({exc.msg} at column {exc.colno})") from None
        if "\\u" in line:  # only a \u escape can hold a lone surrogate
            _check_text(row, f"{path}:{lineno}")
        yield row, f"{path}:{lineno}"


_ESCAPED = re.compile("[\udc80-\udcff]")  # bytes that were not UTF-8, kept by errors="surrogateescape"


def _iter_csv(path: str, delimiter: str) -> Iterator[tuple[dict[str, Any], str]]:
    with open(path, encoding="utf-8-sig", errors="surrogateescape", newline="") as fh:
        reader = csv.DictReader(fh, delimiter=delimiter)
        if not reader.fieldnames or "prompt" not in reader.fieldnames:
            raise SevalError(f"{path}: CSV needs a 'prompt' column (found: {', '.join(reader.fieldnames or [])})")
        for row in reader:
            where = f"{path}:{reader.line_num}"
            values = [v for v in row.values() if isinstance(v, str)]
            if any(_ESCAPED.search(v) for v in values):
                raise SevalError(f"{where}: not valid UTF-8; save the file as UTF-8")
            yield {k: v for k, v in row.items() if v not in (None, "")}, where


def _iter_raw(path: str) -> Iterator[tuple[dict[str, Any], str]]:
    p = Path(path)
    if not p.exists():
        raise SevalError(f"benchmark file not found: {path}")
    name = p.name.lower()
    if name.endswith(".zip"):
        try:
            zf = zipfile.ZipFile(p)
        except zipfile.BadZipFile:
            raise SevalError(f"{path}: not a valid zip file") from None
        with zf:
            members = [m for m in zf.namelist() if m.lower().endswith((".jsonl", ".json")) and not m.startswith("__MACOSX")]
            if not members:
                raise SevalError(f"{path}: the zip holds no .jsonl file")
            for member in members:
                with zf.open(member) as fh:
                    yield from _iter_json_lines(fh, f"{path}!{member}")
    elif name.endswith((".jsonl", ".json", ".ndjson")):
        with open(p, "rb") as fh:
            yield from _iter_json_lines(fh, path)
    elif name.endswith((".csv", ".tsv")):
        yield from _iter_csv(path, "\t" if name.endswith(".tsv") else ",")
    elif name.endswith(".parquet"):
        pq = parquet_module()
        try:
            pf = pq.ParquetFile(p)
        except Exception as exc:  # pyarrow raises several types for bad files
            raise SevalError(f"{path}: not a readable Parquet file ({exc})") from None
        n = 0
        for batch in pf.iter_batches(batch_size=4096):
            for row in batch.to_pylist():
                n += 1
                yield {k: v for k, v in row.items() if v is not None}, f"{path}:row {n}"
    else:
        raise SevalError(f"{path}: unknown benchmark format; use .jsonl, .jsonl.zip, .json, .csv or .parquet")


def read_cases(path: str | Path, lang: str | None = None, limit: int | None = None,
               unique_ids: bool = False, keep_unknown_labels: bool = False) -> Iterator[TestCase]:
    """Stream the test cases of a benchmark file, optionally one language and the first `limit`.

    `unique_ids` (a run's benchmark: one result row per id): a duplicate id is an error naming both lines, an
    identical duplicate row is read once with a warning. Without it (raw generator output) rows come as they are.
    With `keep_unknown_labels`, a dimension, category or risk that is not a taxonomy name (another benchmark's
    labels) is kept in meta["orig_<field>"] and left for the tagger, instead of being an error."""
    path = str(path)
    if lang is not None and lang not in ("zh", "en"):
        raise SevalError(f"unknown language {lang!r}; valid: zh, en")
    mapper = _RowMapper(path, keep_unknown_labels)
    seen: dict[str, tuple[str, str]] = {}  # id -> (where, the row's JSON)
    n = 0
    for row, where in _iter_raw(path):
        if limit is not None and n >= limit:
            return
        case = mapper(row, where)
        if unique_ids and _duplicate(seen, case.id, row, where):
            continue
        if lang and case.lang != lang:
            continue
        n += 1
        yield case


_WARNED: set[str] = set()  # duplicate rows already reported (a run reads its benchmark twice)


def _duplicate(seen: dict[str, tuple[str, str]], case_id: str, row: dict[str, Any], where: str) -> bool:
    """True for a row identical to an earlier one with its id (skipped, with a warning); a different row with
    the same id is an error naming both lines (two answers under one id would be indistinguishable)."""
    text = json.dumps(row, sort_keys=True, ensure_ascii=False, default=str)
    first = seen.get(case_id)
    if first is None:
        seen[case_id] = (where, text)
        return False
    first_line = first[0].rpartition(":")[2]
    if first[1] != text:
        raise SevalError(f"{where}: duplicate id {case_id!r} (first at line {first_line}) with a different row; "
                         f"give each row its own id")
    if where not in _WARNED:
        _WARNED.add(where)
        log.warning("%s: skipped: the same row as line %s (duplicate id %r)", where, first_line, case_id)
    return True


PARQUET_HINT = "Parquet files need pyarrow, an optional dependency: pip install 'seval[parquet]'"


def _pa() -> Any:
    try:
        import pyarrow
    except ImportError:
        raise SevalError(PARQUET_HINT) from None
    return pyarrow


def parquet_module() -> Any:
    """pyarrow.parquet, or a one-line error saying how to install it (Parquet is an optional extra)."""
    _pa()
    import pyarrow.parquet as pq

    return pq


def starter_path() -> Path:
    """The starter benchmark shipped in the package (used when no benchmark is given)."""
    from importlib import resources

    return Path(str(resources.files("seval.data").joinpath("starter/starter.jsonl")))


def to_seval_row(case: TestCase) -> dict[str, Any]:
    """One row in the S-Eval release format, plus our extra fields (ignored by S-Eval's own readers)."""
    from seval.taxonomy import load_taxonomy

    ext: dict[str, Any]
    if case.attack:
        ext = {"model": "attack", "category": case.attack}
        if case.base_id:
            ext["base_traceid"] = case.base_id
    else:
        ext = {"model": "base_risk"}
        if case.from_id:
            ext["from_traceid"] = case.from_id
    risk_type = load_taxonomy().dimension(case.dimension).key if case.dimension else None
    row: dict[str, Any] = {"traceid": case.id, "risk_type": risk_type, "prompt": case.prompt,
                           "ext": json.dumps(ext, ensure_ascii=False)}
    if case.attack and case.base_id:
        row["base_traceid"] = case.base_id
    row.update({"lang": case.lang, "category": case.category, "risk": case.risk})
    if case.turns:
        row["turns"] = case.turns
    if case.meta:
        row["meta"] = case.meta
    return row


def write_cases(path: str | Path, cases: Iterable[TestCase], fmt: str | None = None) -> int:
    """Write cases as S-Eval JSONL (`seval`), our JSONL (`jsonl`), `csv` or `parquet`; returns the count."""
    path = Path(path)
    fmt = fmt or {".csv": "csv", ".parquet": "parquet"}.get(path.suffix.lower(), "seval")
    if fmt not in ("seval", "jsonl", "csv", "parquet"):
        raise SevalError(f"unknown output format {fmt!r}; valid: seval, jsonl, csv, parquet")
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    if fmt in ("seval", "jsonl"):
        with open(path, "w", encoding="utf-8") as fh:
            for c in cases:
                row = to_seval_row(c) if fmt == "seval" else c.to_dict()
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
                n += 1
        return n
    rows = [_flat(c) for c in cases]
    if fmt == "csv":
        fields = ["id", "prompt", "lang", "dimension", "category", "risk", "attack", "base_id", "from_id"]
        with open(path, "w", encoding="utf-8", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=fields, extrasaction="ignore")
            w.writeheader()
            w.writerows(rows)
    else:
        pq = parquet_module()
        pq.write_table(_pa().Table.from_pylist(rows), path)
    return len(rows)


def _flat(c: TestCase) -> dict[str, Any]:
    d = c.to_dict()
    d.pop("turns", None)
    d["meta"] = json.dumps(d.get("meta") or {}, ensure_ascii=False)
    return d
