"""Building a ResultRow: the one place that joins a test case, its stored response and its verdict."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from seval.records import ResultRow, TestCase, Verdict

if TYPE_CHECKING:
    from seval.runner.store import StoredResponse

_FIELDS = tuple(f.name for f in dataclasses.fields(ResultRow))


def case_row(case: TestCase, target: str, defense: str | None) -> ResultRow:
    """A row for a test case with no response yet (status error / not_run until one is attached)."""
    return ResultRow(id=case.id, lang=case.lang, prompt=case.prompt, dimension=case.dimension,
                     category=case.category, risk=case.risk, attack=case.attack, base_id=case.base_id,
                     from_id=case.from_id, target=target, status="error", error_kind="not_run",
                     error="no response recorded", defense=defense)


def attach_response(row: ResultRow, r: StoredResponse | None) -> ResultRow:
    """Copy a stored response (or its absence: not_run) onto a row."""
    if r is None:
        row.status, row.response, row.error_kind, row.error = "error", None, "not_run", "no response recorded"
        row.prompt_tokens, row.completion_tokens, row.latency_s = 0, 0, 0.0
        return row
    row.status, row.response, row.error_kind, row.error = r.status, r.text, r.error_kind, r.error
    row.prompt_tokens, row.completion_tokens, row.latency_s = r.prompt_tokens, r.completion_tokens, r.latency_s
    return row


def attach_verdict(row: ResultRow, v: Verdict | None, critic_spec: str | None) -> ResultRow:
    """Copy a verdict (label, score, explanation, tags, flags) onto a row; None clears them."""
    if v is None:
        row.verdict, row.score, row.explanation, row.tags, row.flags, row.critic = None, None, None, [], [], None
        return row
    row.verdict, row.score, row.explanation = v.label, v.score, v.explanation
    row.tags, row.flags, row.critic = list(v.tags), list(v.flags), critic_spec
    return row


def build_row(case: TestCase, r: StoredResponse | None, v: Verdict | None, target: str, critic_spec: str | None,
              defense: str | None) -> ResultRow:
    """case + stored response + verdict -> the results.jsonl row."""
    row = attach_response(case_row(case, target, defense), r)
    return attach_verdict(row, v if r is not None else None, critic_spec)


def row_dict(row: ResultRow) -> dict[str, Any]:
    """ResultRow.to_dict() without dataclasses.asdict's deep copy (a third of the harness CPU at 2,000 rows)."""
    return {name: getattr(row, name) for name in _FIELDS}
