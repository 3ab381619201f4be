"""Fixtures for the runner tests: a fault-injection server in its own process, and synthetic benchmarks."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from seval.runner.faultserver import FaultConfig, SpawnedServer

DEFAULTS = {k: v for k, v in FaultConfig().__dict__.items() if k != "seed"}


@pytest.fixture(scope="module")
def _spawned() -> Iterator[SpawnedServer]:
    with SpawnedServer() as srv:
        yield srv


@pytest.fixture
def fault(_spawned: SpawnedServer) -> SpawnedServer:
    """The module's fault server, reset to no faults, no latency and zero counters for each test."""
    _spawned.configure(**DEFAULTS, seed=0)
    _spawned.reset()
    return _spawned


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

