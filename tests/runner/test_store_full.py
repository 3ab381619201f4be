"""A full disk under the run folder (a small tmpfs): the store's writer failing stops sending within one batch,
says why in one line, loses no answer without saying so, and the same command resumes once space is back."""

from __future__ import annotations

import re
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from runner_helpers import read_results, target

from seval.cli import cli
from seval.runner.faultserver import SpawnedServer


@pytest.fixture
def small_fs(tmpfs: Callable[[str], Path]) -> Path:
    """A 1 MB tmpfs (root and Linux only; skipped elsewhere)."""
    return tmpfs("size=1m")


def stored(out: Path) -> int:
    with sqlite3.connect(out / "store.sqlite") as db:
        return int(db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])


def test_a_full_disk_stops_within_one_batch_and_the_same_command_resumes(
        fault: SpawnedServer, make_bench, small_fs: Path) -> None:
    n, conc = 400, 8
    fault.configure(latency=0.01)
    (small_fs / "filler").write_bytes(b"\0" * (1024 * 1024 - 160 * 1024))  # leaves about 160 KB
    out = small_fs / "run"
    args = ["run", "--target", target(fault), "--bench", str(make_bench(n)), "--critic", "rule", "--out",
            str(out), "--concurrency", str(conc), "--max-retries", "0", "--quiet"]
    first = CliRunner().invoke(cli, args)
    sent = fault.stats()["requests"]
    assert first.exit_code == 6, first.output
    assert "Traceback" not in first.output and "database or disk is full" in first.output
    lines = [ln for ln in first.output.splitlines() if "came back could not be stored" in ln]
    assert len(lines) == 1, first.output
    kept = stored(out)
    unsaved = int(re.search(r"(\d+) answers? that came back could not be stored", first.output).group(1))
    assert kept + unsaved == sent  # every answer that came back is stored or reported
    assert 0 < kept < n and sent - kept <= 4 * conc + 64  # stopped within one batch of requests in flight
    # space is back: the same command sends only what is not stored, and finishes
    (small_fs / "filler").unlink()
    subprocess.run(["mount", "-o", "remount,size=64m", str(small_fs)], check=True)
    fault.reset()
    second = CliRunner().invoke(cli, args)
    assert second.exit_code == 0, second.output
    assert fault.stats()["requests"] == n - kept
    rows = read_results(out / "results.jsonl")
    assert len(rows) == n and all(r["status"] == "ok" for r in rows)
