"""Crash safety with a real kill -9: `seval run` killed mid-run (twice), then the same command again.

No duplicate rows, nothing completed is lost, the resumed run calls the model only for what is missing, and
the final results equal an uninterrupted run's.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from runner_helpers import target

from seval.api import run_benchmark
from seval.records import GenParams
from seval.runner.faultserver import SpawnedServer

N = 240
CONCURRENCY = 8
SEVAL = [sys.executable, "-c", "import sys; from seval.cli import main; sys.exit(main())"]


def seval_run(srv: SpawnedServer, bench: Path, out: Path) -> list[str]:
    return [*SEVAL, "run", "--target", target(srv), "--bench", str(bench), "--critic", "rule", "--out", str(out),
            "--concurrency", str(CONCURRENCY), "--quiet", "--json"]


def comparable(path: Path) -> list[dict[str, object]]:
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    for r in rows:
        r.pop("latency_s")
    return rows


def stored(out: Path) -> tuple[int, int, int]:
    """(responses, distinct case ids, verdicts) in the run store, read as a fresh process would after a crash."""
    with sqlite3.connect(out / "store.sqlite") as db:
        n, distinct = db.execute("SELECT COUNT(*), COUNT(DISTINCT case_id) FROM responses").fetchone()
        (v,) = db.execute("SELECT COUNT(*) FROM verdicts").fetchone()
    return n, distinct, v


def kill_when(srv: SpawnedServer, cmd: list[str], at_requests: int) -> int:
    """Start `cmd`, kill -9 it once the server has seen `at_requests` chat requests; returns that count."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    try:
        while srv.stats()["requests"] < at_requests:
            assert proc.poll() is None, "the run ended before it could be killed"
            assert time.time() < deadline
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(10)
    assert proc.returncode == -signal.SIGKILL
    time.sleep(0.1)  # let the server notice the dropped connections
    return int(srv.stats()["requests"])


def test_kill_9_twice_then_resume_equals_an_uninterrupted_run(make_bench, tmp_path: Path) -> None:
    bench = make_bench(N)
    with SpawnedServer(latency=0.04) as srv:
        # the uninterrupted reference, in process (the same seval.api path the CLI takes)
        ref = run_benchmark(target(srv), bench=str(bench), critic="rule", out=tmp_path / "ref",
                            concurrency=CONCURRENCY, progress=False, params=GenParams(max_tokens=256))
        assert ref.complete and srv.stats()["requests"] == N
        srv.reset()

        out = tmp_path / "crash"
        cmd = seval_run(srv, bench, out)
        seen1 = kill_when(srv, cmd, N // 3)
        s1, d1, _ = stored(out)
        assert s1 == d1  # no duplicates
        # nothing completed is lost: only requests in flight (or answered in the last event-loop tick) are missing
        assert seen1 - 2 * CONCURRENCY <= s1 <= seen1, (seen1, s1)

        seen2 = kill_when(srv, cmd, seen1 + N // 3)
        s2, d2, _ = stored(out)
        assert s2 == d2 and s2 > s1
        # the resumed run asked only for what was missing
        assert seen2 - seen1 - 2 * CONCURRENCY <= s2 - s1 <= seen2 - seen1

        final = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        assert final.returncode == 0, final.stderr[-2000:]
        total = srv.stats()["requests"]
        assert total - seen2 == N - s2  # exactly the missing calls, none repeated
        n, distinct, verdicts = stored(out)
        assert n == distinct == verdicts == N

    assert comparable(out / "results.jsonl") == comparable(tmp_path / "ref" / "results.jsonl")
    summary = json.loads((out / "summary.json").read_text("utf-8"))
    ref_summary = json.loads((tmp_path / "ref" / "summary.json").read_text("utf-8"))
    assert summary["safety"] == ref_summary["safety"] and summary["counts"] == ref_summary["counts"]
    assert summary["run"]["stats"]["states"] == {"ok": N}
    assert summary["run"]["stats"]["cached"] == s2
