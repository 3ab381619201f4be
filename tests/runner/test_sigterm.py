"""SIGTERM stops `seval run` like Ctrl-C: one line saying the work is saved and how to resume, exit 143, and the
same command finishes the run (issue 23)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from runner_helpers import read_results, target

from seval.runner.faultserver import SpawnedServer

SEVAL = [sys.executable, "-c", "import sys; from seval.cli import main; sys.exit(main())"]


def test_sigterm_stops_with_a_message_and_the_same_command_resumes(fault: SpawnedServer, make_bench,
                                                                   tmp_path: Path) -> None:
    n = 60
    fault.configure(latency=0.05)
    cmd = [*SEVAL, "run", "--target", target(fault), "--bench", str(make_bench(n)), "--critic", "rule", "--out",
           str(tmp_path / "o"), "--concurrency", "2", "--quiet", "--json"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while fault.stats()["requests"] < 10:
        assert proc.poll() is None and time.time() < deadline, "the run ended before it could be stopped"
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "Traceback" not in err
    assert "terminated (SIGTERM): everything finished so far is saved; run the same command to resume" in err
    first = fault.stats()["requests"]
    assert first < n
    fault.reset()
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    rows = read_results(tmp_path / "o" / "results.jsonl")
    assert len(rows) == n and all(r["status"] == "ok" for r in rows)
    assert fault.stats()["requests"] <= n - first + 2  # only what was not stored (at most the 2 in flight again)


def test_sigterm_stops_a_run_whose_sigint_is_ignored(fault: SpawnedServer, make_bench, tmp_path: Path) -> None:
    """A background job (SIGINT ignored) still stops on SIGTERM with the one line and exit 143."""
    fault.configure(latency=0.05)
    cmd = [*SEVAL, "run", "--target", target(fault), "--bench", str(make_bench(60)), "--critic", "rule", "--out",
           str(tmp_path / "o"), "--concurrency", "2", "--quiet", "--json"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    deadline = time.time() + 60
    while fault.stats()["requests"] < 10:
        assert proc.poll() is None and time.time() < deadline, "the run ended before it could be stopped"
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "terminated (SIGTERM)" in err
