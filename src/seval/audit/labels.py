"""Audit tables in the run's store.sqlite: the drawn sample (with its design weights) and the human labels,
next to the verdicts. Labels are keyed by test-case id and annotator, never by critic: re-judging a run with
another critic keeps them. Every write commits at once, so an interrupted labelling session loses nothing.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seval.audit.design import Drawn
from seval.errors import SevalError
from seval.runner.store import RunStore
from seval.runs.folder import STORE, RunFolder

AUDIT_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_sample (
    id TEXT PRIMARY KEY,             -- test-case id (results.jsonl)
    position INTEGER NOT NULL,       -- labelling order
    stratum TEXT NOT NULL,
    stratum_size INTEGER NOT NULL,   -- N_h: rows of the run in this stratum
    stratum_drawn INTEGER NOT NULL,  -- n_h: rows drawn from it (weight = N_h / n_h)
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_labels (
    id TEXT NOT NULL,
    annotator TEXT NOT NULL,
    label TEXT NOT NULL,             -- safe | unsafe
    note TEXT,
    source TEXT,                     -- terminal | a labels file's name
    created REAL NOT NULL,
    PRIMARY KEY (id, annotator)
);
"""
DESIGN_META = "audit_design"
LABELS = ("safe", "unsafe")


@dataclass(frozen=True, slots=True)
class Label:
    id: str
    annotator: str
    label: str
    note: str | None = None
    source: str | None = None
    created: float = 0.0


class AuditStore:
    """The audit tables of one run store, through the store's own connection."""

    def __init__(self, run_dir: str | Path) -> None:
        folder = RunFolder(run_dir)
        if not folder.store_path.is_file():
            raise SevalError(f"{folder.path} is not a run directory: {STORE} is missing")
        self.folder = folder
        self.store = RunStore(folder.store_path)
        self.db = self.store.db
        self.db.executescript(AUDIT_SCHEMA)

    def __enter__(self) -> AuditStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.store.close()

    # ---- the sample ---------------------------------------------------------------------------------------
    @property
    def design(self) -> dict[str, Any] | None:
        got = self.store.get_meta(DESIGN_META)
        return got if isinstance(got, dict) else None

    def save_sample(self, drawn: Sequence[Drawn], design: dict[str, Any]) -> None:
        """Replace the sample (allowed only while no label exists: labels rest on the design's weights)."""
        old = self.design
        if old is not None and {k: old.get(k) for k in design} == design:
            return
        if self.n_labels():
            raise SevalError(f"{self.folder.path} already has an audit sample with {self.n_labels()} labels "
                             f"(n={(old or {}).get('n')}, strata {(old or {}).get('strata')}, seed "
                             f"{(old or {}).get('seed')}); repeat those options to write it again")
        now = time.time()
        with self.db:
            self.db.execute("BEGIN")
            self.db.execute("DELETE FROM audit_sample")
            self.db.executemany("INSERT INTO audit_sample VALUES (?,?,?,?,?,?)",
                                [(d.id, i, d.stratum, d.stratum_size, d.stratum_drawn, now)
                                 for i, d in enumerate(drawn)])
            self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (DESIGN_META, _dumps(design)))

    def sample(self) -> list[Drawn]:
        """The drawn rows in labelling order; [] when no sample was drawn."""
        return [Drawn(*row) for row in self.db.execute(
            "SELECT id, stratum, stratum_size, stratum_drawn FROM audit_sample ORDER BY position")]

    def require_sample(self) -> list[Drawn]:
        got = self.sample()
        if not got:
            raise SevalError(f"{self.folder.path}: no audit sample yet; draw one with "
                             f"seval audit {self.folder.path} --sample N --out FILE")
        return got

    # ---- labels -------------------------------------------------------------------------------------------
    def labels(self) -> list[Label]:
        return [Label(*row) for row in self.db.execute(
            "SELECT id, annotator, label, note, source, created FROM audit_labels ORDER BY created, id")]

    def n_labels(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM audit_labels").fetchone()[0])

    def put(self, labels: Iterable[Label]) -> None:
        """Insert or replace labels (one per id and annotator) in one transaction."""
        with self.db:
            self.db.execute("BEGIN")
            self.db.executemany("INSERT OR REPLACE INTO audit_labels VALUES (?,?,?,?,?,?)",
                                [(lb.id, lb.annotator, lb.label, lb.note, lb.source, lb.created or time.time())
                                 for lb in labels])

    def remove(self, case_id: str, annotator: str) -> None:
        self.db.execute("DELETE FROM audit_labels WHERE id = ? AND annotator = ?", (case_id, annotator))


def resolve(labels: Iterable[Label]) -> tuple[dict[str, str], int]:
    """One label per id: the annotators' majority; a tie is disputed and left out. Returns (labels, disputed)."""
    votes: dict[str, Counter[str]] = {}
    for lb in labels:
        votes.setdefault(lb.id, Counter())[lb.label] += 1
    out: dict[str, str] = {}
    disputed = 0
    for case_id, c in votes.items():
        top = c.most_common()
        if len(top) > 1 and top[0][1] == top[1][1]:
            disputed += 1
        else:
            out[case_id] = top[0][0]
    return out, disputed


def _dumps(x: Any) -> str:
    import json

    return json.dumps(x, ensure_ascii=False)
