"""Fixtures for the runner tests: synthetic benchmarks (the fault server `fault` is in tests/conftest.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture
def make_bench(tmp_path: Path) -> Callable[[int], Path]:
    """Write n distinct English/Chinese prompts (our JSONL) and return the path."""
    from seval.io import starter_path

    rows = [json.loads(line) for line in starter_path().read_text("utf-8").splitlines() if line.strip()]

    def make(n: int, name: str = "bench.jsonl") -> Path:
        path = tmp_path / name
        with open(path, "w", encoding="utf-8") as fh:
            for i in range(n):
                r = dict(rows[i % len(rows)])
                r["id"] = f"t{i:05d}"
                r["prompt"] = f"{r['prompt']} (#{i})"
                fh.write(json.dumps(r, ensure_ascii=False) + "\n")
        return path

    return make

