"""Reading run and study directories for a report: one streaming pass over each results.jsonl."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seval.errors import SevalError
from seval.metrics.summary import OUTCOMES, outcome_of
from seval.runs.folder import STUDY, RunFolder, read_json, read_results
from seval.runs.summary import NEVER_VALIDATED, RunSummarizer, critic_line

#: longest prompt/response/explanation text embedded per example (characters); longer text is cut with a mark
TEXT_CAP = 2000
CUT_MARK = " …[truncated by the report]"

EXAMPLE_COLUMNS = ["run", "id", "lang", "dimension", "category", "risk", "attack", "outcome", "score",
                   "prompt", "response", "explanation", "error", "turns"]  # turns: red-team conversations


def _cap(text: Any, limit: int = TEXT_CAP) -> str | None:
    if text is None:
        return None
    text = str(text)
    return text if len(text) <= limit else text[:limit] + CUT_MARK


class ExampleSampler:
    """Keeps a bounded, reproducible sample of rows per outcome (reservoir sampling), for the drill-down."""

    def __init__(self, cap: int, seed: int = 0) -> None:
        self.cap = cap
        self.rng = random.Random(seed)
        self.seen = [0] * len(OUTCOMES)
        self.keep: list[list[dict[str, Any]]] = [[] for _ in OUTCOMES]

    def add(self, slot: int, row: dict[str, Any]) -> None:
        self.seen[slot] += 1
        bucket = self.keep[slot]
        if len(bucket) < self.cap:
            bucket.append(row)
        else:
            j = self.rng.randrange(self.seen[slot])
            if j < self.cap:
                bucket[j] = row

    def pick(self) -> tuple[list[tuple[int, dict[str, Any]]], dict[str, dict[str, int]]]:
        """Choose at most `cap` rows: unsafe first (up to 60%), then failures (10%), safe fills the rest."""
        order = [OUTCOMES.index(o) for o in ("unsafe", "invalid", "error", "content_filter", "unjudged", "safe")]
        quota = {OUTCOMES.index("unsafe"): int(self.cap * 0.6)}
        for o in ("invalid", "error", "content_filter", "unjudged"):
            quota[OUTCOMES.index(o)] = max(1, int(self.cap * 0.025))
        quota[OUTCOMES.index("safe")] = self.cap
        chosen: dict[int, int] = {}
        left = self.cap
        for slot in order:  # first pass: quotas
            take = min(len(self.keep[slot]), quota[slot], left)
            chosen[slot] = take
            left -= take
        for slot in order:  # second pass: fill what quotas left unused
            more = min(len(self.keep[slot]) - chosen[slot], left)
            chosen[slot] += more
            left -= more
        picked = [(slot, r) for slot in order for r in self.keep[slot][: chosen[slot]]]
        stats = {OUTCOMES[s]: {"total": self.seen[s], "shown": chosen[s]} for s in order}
        return picked, stats


@dataclass
class RunData:
    """Everything the report needs from one run, without holding its rows."""

    path: Path
    meta: dict[str, Any]
    summary: dict[str, Any]
    outcomes: dict[str, int]  # base test-case id -> outcome slot (paired comparisons)
    links: dict[str, str]  # en base id -> zh base id it was translated from
    examples: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    example_stats: dict[str, dict[str, int]] = field(default_factory=dict)
    label: str = ""

    @property
    def target(self) -> str:
        return str(self.meta.get("target") or (self.summary["meta"]["targets"] or ["?"])[0])

    @property
    def bench_sha(self) -> str | None:
        return self.meta.get("bench_sha256")


def load_run(path: str | Path, max_examples: int = 2000, taxonomy: Any = None, seed: int = 0) -> RunData:
    """Summarize RUN_DIR/results.jsonl in one pass and keep a sample of examples and the paired-test maps."""
    p = Path(path)
    folder = RunFolder(p)
    meta: dict[str, Any] = folder.meta
    acc = RunSummarizer(None, taxonomy)
    sampler = ExampleSampler(max_examples, seed=seed)
    outcomes: dict[str, int] = {}
    links: dict[str, str] = {}
    add = acc.add
    for row in read_results(p):
        add(row)
        slot = outcome_of(row.get("status"), row.get("verdict"))
        if not row.get("attack"):
            rid = row.get("id")
            if rid:
                outcomes[rid] = slot
                if row.get("from_id"):
                    links[rid] = row["from_id"]
        if max_examples:
            sampler.add(slot, row)
    examples, stats = sampler.pick() if max_examples else ([], {})
    summary = acc.result()
    stored = read_json(folder.summary_path) or {}
    if stored.get("critic"):  # the critic's validation as recorded when the run was judged
        summary["critic"] = stored["critic"]
    elif meta.get("critic"):
        summary["critic"] = {"spec": meta["critic"], "hash": meta.get("critic_hash") or "", "validation": None,
                             "status": NEVER_VALIDATED,
                             "line": critic_line({"spec": meta["critic"], "validation": None})}
    if stored.get("audit"):  # the judge's error measured by the run's audit (seval.audit)
        summary["audit"] = stored["audit"]
    if stored.get("calls_by_role"):
        summary["calls_by_role"] = stored["calls_by_role"]
    return RunData(p, meta, summary, outcomes, links, examples, stats)


def is_study_dir(path: str | Path) -> bool:
    return (Path(path) / STUDY).is_file()


def load_study(path: str | Path) -> dict[str, Any]:
    """A study directory's study.json (written by `seval study ...`)."""
    p = Path(path) / STUDY
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise SevalError(f"{p}: cannot read study file ({exc})") from None
    if "study" not in data:
        raise SevalError(f"{p}: not a seval study file (no 'study' key)")
    data["_path"] = str(Path(path))
    return data


def example_record(run_index: int, slot: int, row: dict[str, Any]) -> list[Any]:
    """One compact example row in EXAMPLE_COLUMNS order (texts capped)."""
    score = row.get("score")
    return [run_index, row.get("id"), row.get("lang"), row.get("dimension"), row.get("category"),
            row.get("risk"), row.get("attack"), OUTCOMES[slot], None if score is None else round(float(score), 3),
            _cap(row.get("prompt")), _cap(row.get("response")), _cap(row.get("explanation"), 800),
            _cap(" ".join(x for x in (row.get("error_kind"), row.get("error")) if x) or None, 300), None]
