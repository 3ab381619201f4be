"""The run folder (seval.runs.folder): a bad --out is one line, and a folder is locked while a run writes it
(a second run stops at once naming the holder's pid; a stale lock from a dead process is taken over). Issue 23."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from seval.cli import cli
from seval.errors import SevalError
from seval.io import starter_path
from seval.runner.faultserver import SpawnedServer
from seval.runs.folder import LOCK, RunFolder


def run_args(srv: SpawnedServer, out: Path, *extra: str) -> list[str]:
    return ["run", "--target", f"openai-compatible:{srv.url}#fault", "--bench", str(starter_path()),
            "--critic", "rule", "--out", str(out), "--quiet", *extra]


def one_line_error(result: object) -> str:
    out = result.output  # type: ignore[attr-defined]
    assert result.exit_code == 2, out  # type: ignore[attr-defined]
    assert isinstance(result.exception, SystemExit) and "Traceback" not in out  # type: ignore[attr-defined]
    return str(out)


def test_out_that_is_a_file_or_under_a_file_is_one_line(fault: SpawnedServer, tmp_path: Path) -> None:
    f = tmp_path / "taken.txt"
    f.write_text("x")
    for out, msg in ((f, "is a file, not a directory"), (f / "sub", "is a file")):
        res = CliRunner().invoke(cli, run_args(fault, out, "--limit", "2"), standalone_mode=False)
        with pytest.raises(SevalError, match=msg):
            raise res.exception  # type: ignore[misc]
    assert fault.stats()["requests"] == 0


@pytest.fixture
def read_only_dir(tmpfs: Callable[[str], Path]) -> Path:
    return tmpfs("ro,size=64k")


def test_out_in_a_read_only_place_is_one_line(fault: SpawnedServer, read_only_dir: Path) -> None:
    for out in (read_only_dir, read_only_dir / "new"):
        res = CliRunner().invoke(cli, run_args(fault, out, "--limit", "2"), standalone_mode=False)
        with pytest.raises(SevalError, match=r"(not writable|cannot create).*choose another --out"):
            raise res.exception  # type: ignore[misc]
    assert fault.stats()["requests"] == 0


HOLD = ("import sys, time; from seval.runs.folder import RunFolder\n"
        "with RunFolder(sys.argv[1]).lock():\n    print('HELD', flush=True); time.sleep(60)\n")


def test_a_second_run_on_a_locked_folder_stops_at_once_naming_the_pid(fault: SpawnedServer, tmp_path: Path) -> None:
    out = tmp_path / "o"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "HELD"
        t0 = time.perf_counter()
        res = CliRunner().invoke(cli, run_args(fault, out, "--limit", "2"), standalone_mode=False)
        assert time.perf_counter() - t0 < 10
        with pytest.raises(SevalError, match=rf"in use by another seval run \(pid {holder.pid}\)"):
            raise res.exception  # type: ignore[misc]
        assert fault.stats()["requests"] == 0
    finally:
        holder.kill()
        holder.wait()
    # the holder was killed: its lock is stale and the same command now runs
    res = CliRunner().invoke(cli, run_args(fault, out, "--limit", "2"))
    assert res.exit_code == 0, res.output
    assert not (out / LOCK).exists()


def test_a_stale_lock_file_with_a_dead_pid_is_taken_over(fault: SpawnedServer, tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    out = tmp_path / "o"
    out.mkdir()
    (out / LOCK).write_text(f"{dead.pid}\n")
    res = CliRunner().invoke(cli, run_args(fault, out, "--limit", "3"))
    assert res.exit_code == 0, res.output
    assert fault.stats()["requests"] == 3


def test_two_runs_started_together_send_each_prompt_once(fault: SpawnedServer, tmp_path: Path) -> None:
    fault.configure(latency=0.05)
    out = tmp_path / "o"
    results: list[object] = []

    def go() -> None:
        results.append(CliRunner().invoke(cli, run_args(fault, out, "--limit", "10", "--concurrency", "2"),
                                          standalone_mode=False))

    threads = [threading.Thread(target=go) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    errors = [r.exception for r in results if r.exception is not None]  # type: ignore[attr-defined]
    assert len(errors) == 1 and "in use by another seval run" in str(errors[0])
    assert fault.stats()["requests"] == 10


def test_the_lock_holds_the_pid_and_is_removed_after(tmp_path: Path) -> None:
    import os

    folder = RunFolder(tmp_path / "o")
    with folder.lock():
        assert (folder.path / LOCK).read_text().strip() == str(os.getpid())
        with pytest.raises(SevalError, match=f"pid {os.getpid()}"), folder.lock():
            pass
    assert not (folder.path / LOCK).exists()
