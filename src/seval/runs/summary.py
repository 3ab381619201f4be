"""The typed run summary: safety scores (seval.metrics.summary), plus what the critic's figures rest on.

Next to the safety scores, summary.json carries
- `flags`: how many judged responses were non-answers (empty, echo, loop, gibberish, cut off), uncertain or
  escalated (the verdicts' flags), so a score made mostly of non-answers reads as such;
- `critic`: the critic's spec, hash and its recorded validation (balanced accuracy per language with 95%
  intervals), or "never validated";
- `calls_by_role`: the model calls of the run per role (target, judge, ...) when the call policy counts them.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, NotRequired, TypedDict

from seval.metrics.stats import wilson
from seval.metrics.summary import Summarizer
from seval.records import ResultRow

FLAGS = ("non_answer", "uncertain", "escalated")
NEVER_VALIDATED = "never validated"


class Rate(TypedDict):
    rate: float | None
    lo: float | None
    hi: float | None
    n: int


class FlagCount(TypedDict):
    count: int
    share: float | None
    lo: float | None
    hi: float | None
    of: int


class CriticBlock(TypedDict):
    spec: str
    hash: str
    status: str  # "validated" | "never validated"
    validation: dict[str, Any] | None
    line: str


class RunSummary(TypedDict):
    """summary.json; the metric blocks are documented in seval.metrics.summary."""

    summary_version: int
    counts: dict[str, Any]
    safety: dict[str, Any]
    attacks: dict[str, Any]
    invalid: dict[str, Any]
    errors: dict[str, Any]
    meta: dict[str, Any]
    flags: dict[str, FlagCount]
    critic: NotRequired[CriticBlock]
    calls_by_role: NotRequired[dict[str, Any]]
    run: NotRequired[dict[str, Any]]
    labels: NotRequired[dict[str, str]]


def validation_of(critic: Any) -> dict[str, Any] | None:
    """The critic's recorded validation (`Critic.validation()`), or None; a critic without the method has none."""
    fn = getattr(critic, "validation", None)
    if not callable(fn):
        return None
    try:
        got = fn()
    except Exception:  # a broken record is reported as none, never as figures
        return None
    return got if isinstance(got, dict) and got.get("by_lang") is not None else None


def _fmt(x: Any) -> str:
    return f"{float(x):.2f}" if isinstance(x, int | float) else "?"


def critic_line(block: CriticBlock | dict[str, Any]) -> str:
    """One line for the terminal and the HTML report, next to the safety scores."""
    v = block.get("validation")
    name = block.get("spec", "?")
    if not v:
        return f"critic {name} never validated: run seval critic validate --critic {name} --gold FILE"
    parts = []
    for lang, m in (v.get("by_lang") or {}).items():
        ci = m.get("ci95") or [None, None]
        parts.append(f"{lang} {_fmt(m.get('balanced_accuracy'))} [{_fmt(ci[0])}, {_fmt(ci[1])}] (n={m.get('n', '?')})")
    what = v.get("what") or ("shipped validation" if v.get("kind") == "shipped" else "validated")
    when = f", {v['date']}" if v.get("date") else ""
    stale = "" if not v.get("critic_hash") or v.get("critic_hash") == block.get("hash") else \
        " (recorded for another configuration of this critic)"
    return f"critic {name}: balanced accuracy {', '.join(parts) or '-'} on {what}{when}{stale}"


def critic_block(critic: Any) -> CriticBlock:
    spec = str(getattr(critic, "spec", "?"))
    h = critic.config_hash() if hasattr(critic, "config_hash") else ""
    v = validation_of(critic)
    block: CriticBlock = {"spec": spec, "hash": h, "status": "validated" if v else NEVER_VALIDATED,
                          "validation": v, "line": ""}
    block["line"] = critic_line(block)
    return block


class RunSummarizer:
    """Streaming: `add(row)` per result row, then `result(run_meta)`; wraps the metric Summarizer."""

    def __init__(self, critic: Any = None, taxonomy: Any = None) -> None:
        self.metrics = Summarizer(taxonomy)
        self.critic = critic
        self.flags: Counter[str] = Counter()
        self.judged = 0

    def add(self, row: ResultRow | dict[str, Any]) -> None:
        self.metrics.add(row)
        get = row.get if isinstance(row, dict) else (lambda k: getattr(row, k, None))
        if get("verdict") in ("safe", "unsafe", "invalid"):
            self.judged += 1
            for f in get("flags") or ():
                self.flags[f] += 1

    def flag_counts(self) -> dict[str, FlagCount]:
        out: dict[str, FlagCount] = {}
        for name in (*FLAGS, *sorted(set(self.flags) - set(FLAGS))):
            k = self.flags.get(name, 0)
            share, lo, hi = wilson(k, self.judged)
            out[name] = {"count": k, "share": share, "lo": lo, "hi": hi, "of": self.judged}
        return out

    def result(self, run_meta: dict[str, Any] | None = None,
               calls_by_role: dict[str, Any] | None = None) -> dict[str, Any]:
        summary: dict[str, Any] = self.metrics.result()
        summary["flags"] = self.flag_counts()
        if self.critic is not None:
            summary["critic"] = critic_block(self.critic)
        if calls_by_role:
            summary["calls_by_role"] = calls_by_role
        if run_meta is not None:
            summary["run"] = run_meta
        return summary


def summarize_rows(rows: Any, critic: Any = None, taxonomy: Any = None) -> dict[str, Any]:
    acc = RunSummarizer(critic, taxonomy)
    for r in rows:
        acc.add(r)
    return acc.result()
