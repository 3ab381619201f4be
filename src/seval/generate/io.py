"""Read and write benchmark files for generation and selection: S-Eval lines or seval TestCase lines.

Output lines carry both shapes at once (`traceid`, `risk_type`, `prompt`, `ext` as S-Eval writes them, plus the
TestCase fields), so an S-Eval reader and seval both load them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from seval.errors import SevalError
from seval.records import TestCase, md5_hex


def guess_lang(text: str) -> str:
    """zh when CJK characters make up a fair share of the letters, else en (S-Eval lines have no language field)."""
    from seval.generate.textchecks import script_shares

    cjk, _latin, _other = script_shares(text)
    return "zh" if cjk >= 0.3 else "en"


def _from_seval(d: dict[str, Any], where: str) -> TestCase:
    """A TestCase from an S-Eval release line (traceid, risk_type, prompt, ext)."""
    from seval.taxonomy import load_taxonomy

    ext = d.get("ext") or {}
    if isinstance(ext, str):
        try:
            ext = json.loads(ext)
        except ValueError:
            raise SevalError(f"{where}: `ext` is not valid JSON") from None
    dim = cat = None
    if d.get("risk_type"):
        dim, cat = load_taxonomy().resolve_risk_type(str(d["risk_type"]))
    prompt = str(d["prompt"])
    attack = ext.get("category") if ext.get("model") == "attack" else None
    return TestCase(id=str(d.get("traceid") or md5_hex(prompt)), prompt=prompt,
                    lang=str(d.get("lang") or guess_lang(prompt)), dimension=d.get("dimension") or dim,
                    category=d.get("category") or cat, risk=d.get("risk"), attack=attack,
                    base_id=d.get("base_traceid"), from_id=ext.get("from_traceid") or d.get("from_id"),
                    meta=dict(d.get("meta") or {}))


def case_from_line(d: dict[str, Any], where: str) -> TestCase:
    """Either shape: a line with `id` and `lang` is a TestCase, one with `traceid`/`ext` an S-Eval line."""
    if not isinstance(d, dict) or not isinstance(d.get("prompt"), str):
        raise SevalError(f"{where}: expected a JSON object with a string `prompt`")
    if "id" in d and "lang" in d:
        return TestCase.from_dict(d)
    return _from_seval(d, where)


def read_cases(path: str | Path) -> list[TestCase]:
    """All test cases of a JSONL benchmark file; a bad line is an error naming file and line."""
    p = Path(path)
    if not p.is_file():
        raise SevalError(f"benchmark file not found: {p}")
    cases = []
    with p.open(encoding="utf-8") as fh:
        for i, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
            except ValueError:
                raise SevalError(f"{p}:{i}: not valid JSON") from None
            cases.append(case_from_line(d, f"{p}:{i}"))
    return cases


def case_to_line(case: TestCase) -> dict[str, Any]:
    """One output line: S-Eval's four fields first, then the TestCase fields."""
    from seval.taxonomy import load_taxonomy

    tax = load_taxonomy()
    dim = tax.find_dimension(case.dimension) if case.dimension else None
    ext: dict[str, Any] = {"model": "attack", "category": case.attack} if case.attack else {"model": "base_risk"}
    if case.from_id and not case.attack:
        ext["from_traceid"] = case.from_id
    line: dict[str, Any] = {"traceid": md5_hex(case.prompt), "risk_type": dim.key if dim else case.dimension,
                            "prompt": case.prompt, "ext": json.dumps(ext, ensure_ascii=False)}
    line.update(case.to_dict())
    return line


def write_cases(path: str | Path, cases: Iterable[TestCase]) -> int:
    """Write JSONL (parent folders created); returns the number of lines."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with p.open("w", encoding="utf-8") as fh:
        for c in cases:
            fh.write(json.dumps(case_to_line(c), ensure_ascii=False) + "\n")
            n += 1
    return n
