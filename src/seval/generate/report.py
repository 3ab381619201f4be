"""The selection report: for each step, how many prompts came in, were kept, and were dropped for which reason."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from seval.records import TestCase

#: dropped examples kept per step and reason, for inspection
EXAMPLES_PER_REASON = 3


@dataclass(slots=True)
class StepReport:
    step: str
    n_in: int
    kept: int
    dropped: int
    reasons: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"step": self.step, "in": self.n_in, "kept": self.kept, "dropped": self.dropped,
                "reasons": self.reasons, "examples": self.examples, "note": self.note}


def _reason_key(reason: str) -> str:
    """Group reasons by their stable head ("too short (3 < 6 chars)" -> "too short")."""
    return reason.split(" (")[0].split(": ")[0]


@dataclass(slots=True)
class SelectionReport:
    """Step -> in / kept / dropped with reasons, plus the settings that produced it."""

    steps: list[StepReport] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)

    def add(self, step: str, n_in: int, kept: list[TestCase], dropped: list[tuple[TestCase, str]],
            note: str = "") -> None:
        reasons = Counter(_reason_key(r) for _, r in dropped)
        examples: dict[str, list[str]] = {}
        for case, r in dropped:
            lst = examples.setdefault(_reason_key(r), [])
            if len(lst) < EXAMPLES_PER_REASON:
                lst.append(f"{case.prompt[:120]} [{r}]")
        self.steps.append(StepReport(step, n_in, len(kept), len(dropped), dict(reasons), examples, note))

    def step(self, name: str) -> StepReport:
        for s in self.steps:
            if s.step == name:
                return s
        raise KeyError(name)

    @property
    def n_in(self) -> int:
        return self.steps[0].n_in if self.steps else 0

    @property
    def n_out(self) -> int:
        return self.steps[-1].kept if self.steps else 0

    @property
    def duplicate_rate(self) -> float:
        """Exact plus near duplicates over the prompts that entered selection."""
        dups = sum(s.dropped for s in self.steps if s.step in ("exact_dedup", "near_dedup"))
        return dups / self.n_in if self.n_in else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"in": self.n_in, "kept": self.n_out, "duplicate_rate": round(self.duplicate_rate, 4),
                "steps": [s.to_dict() for s in self.steps], "settings": self.settings}

    def table(self) -> str:
        """A plain-text table for the terminal."""
        rows = [f"{'step':<13} {'in':>6} {'kept':>6} {'dropped':>8}  reasons"]
        for s in self.steps:
            why = ", ".join(f"{k}: {v}" for k, v in sorted(s.reasons.items(), key=lambda kv: -kv[1]))
            rows.append(f"{s.step:<13} {s.n_in:>6} {s.kept:>6} {s.dropped:>8}  {why}{' ' + s.note if s.note else ''}")
        rows.append(f"kept {self.n_out} of {self.n_in} ({self.n_out / self.n_in:.0%}); duplicate rate "
                    f"{self.duplicate_rate:.1%}" if self.n_in else "no input")
        return "\n".join(rows)
