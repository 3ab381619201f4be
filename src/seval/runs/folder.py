"""A run folder, typed: every file name of a run directory spelled once, and the one reader of results.jsonl.

    run = RunFolder("seval-runs/m1")
    run.meta["target"], run.summary["safety"]["overall"], next(run.iter_rows())

A run that writes a folder first `prepare()`s it (a bad --out is one line) and holds `lock()`: a lock file with
the holder's pid, so a second run on the same folder stops at once instead of sending every prompt twice.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seval.errors import SevalError
from seval.records import ResultRow

RESULTS = "results.jsonl"  # one ResultRow per test case, benchmark order
SUMMARY = "summary.json"  # the typed summary (seval.runs.summary)
RUN_META = "run.json"  # how the run was made: target, bench, critic, params, stats
STORE = "store.sqlite"  # every request, response and verdict (seval.runner.store)
DEFENSE = "defense.json"  # `seval defend`'s report
STUDY = "study.json"  # a study folder's result
BENCH_SAMPLE = "bench_sample.jsonl"  # `seval defend --sample`'s benchmark
BENIGN_RESPONSES = "benign_responses.jsonl"  # `seval defend`'s over-refusal answers
REDTEAM = "redteam.jsonl"  # `seval redteam`: one row per base prompt and adaptive method
LOCK = "run.lock"  # held (with the pid) while a run writes the folder


def rejudge_name(critic_spec: str) -> str:
    """The default output of `seval critic judge --run DIR` for one critic."""
    return "rejudge-" + (re.sub(r"[^A-Za-z0-9._-]+", "-", critic_spec).strip("-")[:60] or "critic") + ".jsonl"


def read_results(path: str | Path) -> Iterator[dict[str, Any]]:
    """Yield the rows of a results.jsonl (or of RUN_DIR/results.jsonl) as dicts; blank lines are skipped."""
    p = Path(path)
    if p.is_dir():
        p = p / RESULTS
    if not p.is_file():
        raise SevalError(f"{p}: no results file (expected a run directory with {RESULTS})")
    loads = json.loads
    with p.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                yield loads(line)
            except json.JSONDecodeError as exc:
                raise SevalError(f"{p}:{lineno}: not valid JSON ({exc.msg})") from None


def read_json(path: Path, default: Any = None) -> Any:
    """A JSON file of a run folder; `default` when absent, a one-line error when it does not parse."""
    if not path.is_file():
        return default
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise SevalError(f"{path}: not valid JSON ({exc.msg})") from None


def write_json(path: Path, data: Any) -> Path:
    """Write atomically (a temporary file, then a rename): a crash never leaves half a summary."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    tmp.replace(path)
    return path


def _take_lock(path: Path) -> int:
    """An exclusive, non-blocking OS lock on `path` (created with this pid in it); SevalError when held."""
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise SevalError(f"run directory {path.parent} is not writable ({exc.strerror}); choose another "
                             f"--out") from None
        if not _os_lock(fd):
            holder = os.read(fd, 64).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise SevalError(f"{path.parent} is in use by another seval run (pid {holder}); wait for it to finish "
                             f"or stop it, or choose another --out")
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:  # else the holder removed the file as we opened it: take the new one
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode("ascii"))
    except OSError as exc:
        os.close(fd)
        raise SevalError(f"could not write {path}: {exc.strerror}; free space (or make it writable) and re-run "
                         f"the same command") from None
    return fd


def _os_lock(fd: int) -> bool:
    """Lock `fd` without waiting (flock on POSIX, msvcrt on Windows); False when another process holds it."""
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
        except OSError:
            return False
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@dataclass(frozen=True)
class RunFolder:
    """A run directory: where each file is, and typed access to what is in it."""

    path: Path

    def __init__(self, path: str | Path) -> None:
        object.__setattr__(self, "path", Path(path))

    @property
    def results_path(self) -> Path:
        return self.path / RESULTS

    @property
    def summary_path(self) -> Path:
        return self.path / SUMMARY

    @property
    def meta_path(self) -> Path:
        return self.path / RUN_META

    @property
    def store_path(self) -> Path:
        return self.path / STORE

    def file(self, name: str) -> Path:
        return self.path / name

    def prepare(self) -> Path:
        """Create the folder; an --out that is a file, lies under a file or is read-only is a one-line error."""
        p = self.path
        if p.exists() and not p.is_dir():
            raise SevalError(f"--out {p} is a file, not a directory; choose another --out")
        try:
            p.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            blocker = next((a for a in p.parents if a.exists() and not a.is_dir()), p)
            raise SevalError(f"cannot create run directory {p}: {blocker} is a file; choose another --out") from None
        except OSError as exc:
            raise SevalError(f"cannot create run directory {p}: {exc.strerror}; choose another --out") from None
        if not os.access(p, os.W_OK):
            raise SevalError(f"run directory {p} is not writable; choose another --out")
        return p

    @contextlib.contextmanager
    def lock(self) -> Iterator[Path]:
        """Hold the folder for one run: a second run stops at once naming this process; the lock of a process
        that died (kill -9 included) is free again, since the OS drops it with the process."""
        path = self.prepare() / LOCK
        fd = _take_lock(path)
        try:
            yield path
        finally:
            with contextlib.suppress(OSError):
                path.unlink()
            os.close(fd)  # after the unlink: a run that opened the old file sees it is gone and retries

    def exists(self) -> bool:
        return self.results_path.is_file()

    @property
    def meta(self) -> dict[str, Any]:
        """run.json ({} when absent)."""
        return read_json(self.meta_path, {}) or {}

    @property
    def summary(self) -> dict[str, Any]:
        data = read_json(self.summary_path)
        if data is None:
            raise SevalError(f"{self.path}: no {SUMMARY} (not a finished run directory)")
        return data

    def iter_dicts(self) -> Iterator[dict[str, Any]]:
        return read_results(self.results_path)

    def iter_rows(self) -> Iterator[ResultRow]:
        return (ResultRow.from_dict(d) for d in read_results(self.results_path))

    def count_rows(self) -> int:
        if not self.results_path.is_file():
            return 0
        with open(self.results_path, encoding="utf-8") as fh:
            return sum(1 for line in fh if line.strip())

    def require(self, *names: str) -> None:
        """A one-line error naming the first missing file."""
        for n in names:
            if not (self.path / n).is_file():
                raise SevalError(f"{self.path} is not a finished run directory: {n} is missing")
