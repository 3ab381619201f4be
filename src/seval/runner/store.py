"""SQLite (WAL) run store: every response and verdict, keyed so a re-run never repeats finished work.

A response's key hashes the target's configuration (defense included), the exact messages and the sampling
parameters; a verdict's key adds the critic's configuration hash. Rows are committed in small batches:
after kill -9, at most the last uncommitted batch is redone, and never duplicated. A write that fails (disk full,
read-only) raises StoreUnwritable and keeps the batch pending, so the run stops and reports what it holds.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seval.errors import SevalError
from seval.models.retry import RunStopped
from seval.records import Verdict


class StoreUnwritable(RunStopped, SevalError):
    """The store could not be written (disk full, read-only): the run stops sending; the same command resumes."""

    exit_code = 6
    reason = "store_full"

SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    case_id TEXT NOT NULL,
    target TEXT NOT NULL,
    status TEXT NOT NULL,            -- ok | content_filter | error
    text TEXT,
    error_kind TEXT,
    error TEXT,
    prompt_tokens INTEGER DEFAULT 0,
    completion_tokens INTEGER DEFAULT 0,
    latency_s REAL DEFAULT 0,
    attempts INTEGER DEFAULT 1,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS responses_case ON responses(case_id);
CREATE TABLE IF NOT EXISTS verdicts (
    response_key TEXT NOT NULL,
    critic_hash TEXT NOT NULL,
    critic TEXT NOT NULL,
    label TEXT NOT NULL,             -- safe | unsafe | invalid
    score REAL,
    tags TEXT,
    explanation TEXT,
    raw TEXT,
    created REAL NOT NULL,
    flags TEXT,                      -- JSON list: non_answer, uncertain, escalated
    PRIMARY KEY (response_key, critic_hash)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- seval redteam: one row per step of an adaptive attack (an attacker, target or judge call), so a re-run
-- replays the stored steps without calling a model and a conversation cut mid-way continues where it stopped
CREATE TABLE IF NOT EXISTS redteam_steps (
    attempt TEXT NOT NULL,           -- hash of (method, its settings, target, attacker, critic, params)
    base_id TEXT NOT NULL,
    method TEXT NOT NULL,
    step TEXT NOT NULL,              -- e.g. "3.attacker", "2.1.0.target"
    kind TEXT NOT NULL,              -- attacker | target | judge
    record TEXT NOT NULL,            -- JSON: the call's result
    created REAL NOT NULL,
    PRIMARY KEY (attempt, base_id, step)
);
"""


@dataclass(slots=True)
class StoredResponse:
    key: str
    case_id: str
    target: str
    status: str
    text: str | None
    error_kind: str | None
    error: str | None
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    attempts: int = 1


class RunStore:
    """One SQLite file per run directory. Not shared across threads: one asyncio loop owns it."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._pending_r: list[tuple[Any, ...]] = []
        self._pending_v: list[tuple[Any, ...]] = []
        try:
            self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(SCHEMA)
            self._migrate()
        except sqlite3.OperationalError as exc:
            raise self._unwritable(exc) from None

    def _unwritable(self, exc: Exception) -> StoreUnwritable:
        return StoreUnwritable(f"the run store {self.path} could not be written ({exc}); free space (or make it "
                               f"writable) and re-run the same command")

    def _migrate(self) -> None:
        """Stores written before verdict flags existed get the column (NULL = no flags); nothing is lost."""
        cols = {row[1] for row in self.db.execute("PRAGMA table_info(verdicts)")}
        if "flags" not in cols:
            self.db.execute("ALTER TABLE verdicts ADD COLUMN flags TEXT")

    # ---- responses -------------------------------------------------------------------------------
    def get_response(self, key: str) -> StoredResponse | None:
        row = self.db.execute(
            "SELECT key, case_id, target, status, text, error_kind, error, prompt_tokens, completion_tokens, "
            "latency_s, attempts FROM responses WHERE key = ?", (key,)).fetchone()
        return StoredResponse(*row) if row else None

    def get_responses(self, keys: list[str]) -> dict[str, StoredResponse]:
        out: dict[str, StoredResponse] = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            marks = ",".join("?" * len(chunk))
            for row in self.db.execute(
                "SELECT key, case_id, target, status, text, error_kind, error, prompt_tokens, completion_tokens, "
                f"latency_s, attempts FROM responses WHERE key IN ({marks})", chunk):
                out[row[0]] = StoredResponse(*row)
        return out

    def add_response(self, r: StoredResponse) -> None:
        self._pending_r.append((r.key, r.case_id, r.target, r.status, r.text, r.error_kind, r.error,
                                r.prompt_tokens, r.completion_tokens, r.latency_s, r.attempts, time.time()))

    def delete_errors(self) -> int:
        """Forget failed responses so the next run retries them (`--retry-errors`)."""
        self.flush()
        cur = self.db.execute("DELETE FROM responses WHERE status = 'error'")
        return cur.rowcount

    # ---- verdicts --------------------------------------------------------------------------------
    def get_verdicts(self, keys: list[str], critic_hash: str) -> dict[str, Verdict]:
        out: dict[str, Verdict] = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            marks = ",".join("?" * len(chunk))
            for row in self.db.execute(
                "SELECT response_key, label, score, tags, explanation, critic, critic_hash, raw, flags FROM verdicts "
                f"WHERE critic_hash = ? AND response_key IN ({marks})", [critic_hash, *chunk]):
                out[row[0]] = Verdict(label=row[1], score=row[2], tags=json.loads(row[3] or "[]"),
                                      explanation=row[4] or "", critic=row[5], critic_hash=row[6], raw=row[7],
                                      flags=json.loads(row[8] or "[]"))
        return out

    def add_verdict(self, response_key: str, v: Verdict) -> None:
        self._pending_v.append((response_key, v.critic_hash, v.critic, v.label, v.score,
                                json.dumps(v.tags, ensure_ascii=False), v.explanation, v.raw, time.time(),
                                json.dumps(list(v.flags), ensure_ascii=False)))

    def delete_invalid_verdicts(self, critic_hash: str) -> int:
        self.flush()
        return self.db.execute("DELETE FROM verdicts WHERE critic_hash = ? AND label = 'invalid'",
                               (critic_hash,)).rowcount

    # ---- red-team steps (seval.redteam) ----------------------------------------------------------------
    def get_redteam_steps(self, attempt: str, base_id: str) -> dict[str, dict[str, Any]]:
        """The stored steps of one adaptive attack on one base prompt: {step: record}."""
        rows = self.db.execute("SELECT step, record FROM redteam_steps WHERE attempt = ? AND base_id = ?",
                               (attempt, base_id))
        return {step: json.loads(rec) for step, rec in rows}

    def add_redteam_step(self, attempt: str, base_id: str, method: str, step: str, kind: str,
                         record: dict[str, Any]) -> None:
        """Committed at once (autocommit): a step is a model call, worth more than a transaction."""
        self.db.execute("INSERT OR REPLACE INTO redteam_steps VALUES (?,?,?,?,?,?,?)",
                        (attempt, base_id, method, step, kind, json.dumps(record, ensure_ascii=False), time.time()))

    # ---- batches and metadata ----------------------------------------------------------------------
    @property
    def pending(self) -> int:
        return len(self._pending_r) + len(self._pending_v)

    @property
    def unsaved(self) -> int:
        """Answers received but not committed (after a failed flush: what a re-run asks again)."""
        return len(self._pending_r)

    def flush(self) -> None:
        """Commit pending rows in one transaction (INSERT OR REPLACE: a redone item overwrites, never duplicates).

        A failed write raises StoreUnwritable and keeps the rows pending (a later flush tries them again)."""
        if not self._pending_r and not self._pending_v:
            return
        try:
            with self.db:
                self.db.execute("BEGIN")
                if self._pending_r:
                    self.db.executemany("INSERT OR REPLACE INTO responses VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                                        self._pending_r)
                if self._pending_v:
                    self.db.executemany(
                        "INSERT OR REPLACE INTO verdicts (response_key, critic_hash, critic, label, score, tags, "
                        "explanation, raw, created, flags) VALUES (?,?,?,?,?,?,?,?,?,?)", self._pending_v)
        except sqlite3.OperationalError as exc:
            raise self._unwritable(exc) from None
        self._pending_r.clear()
        self._pending_v.clear()

    def set_meta(self, key: str, value: Any) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value, ensure_ascii=False)))

    def get_meta(self, key: str, default: Any = None) -> Any:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def iter_responses(self) -> Iterator[StoredResponse]:
        cur = self.db.execute(
            "SELECT key, case_id, target, status, text, error_kind, error, prompt_tokens, completion_tokens, "
            "latency_s, attempts FROM responses ORDER BY rowid")
        for row in cur:
            yield StoredResponse(*row)

    def counts(self) -> dict[str, int]:
        return dict(self.db.execute("SELECT status, COUNT(*) FROM responses GROUP BY status").fetchall())

    def close(self, flush: bool = True) -> None:
        """Commit what is pending (unless `flush` is False: a run that already reported it could not) and close."""
        try:
            if flush:
                self.flush()
        finally:
            self.db.close()

    def add_many_verdicts(self, pairs: Iterable[tuple[str, Verdict]]) -> None:
        for key, v in pairs:
            self.add_verdict(key, v)
