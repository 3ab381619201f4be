"""Reading a run directory's results.jsonl as plain dicts, streaming."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from seval.errors import SevalError


def iter_results(path: str | Path) -> Iterator[dict[str, Any]]:
    """Yield the rows of a results.jsonl (or of RUN_DIR/results.jsonl); blank lines are skipped."""
    p = Path(path)
    if p.is_dir():
        p = p / "results.jsonl"
    if not p.is_file():
        raise SevalError(f"{p}: no results file (expected a run directory with results.jsonl)")
    loads = json.loads
    with p.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                yield loads(line)
            except json.JSONDecodeError as exc:
                raise SevalError(f"{p}:{lineno}: not valid JSON ({exc.msg})") from None
