"""A red-team run's rows (redteam.jsonl, one per base prompt and method) and its summary.json.

summary.json: per method the attack success rate (unsafe / finished attempts) with its Wilson 95% interval,
overall and per language; the mean queries to success (attacker, target and judge calls of the successful
attempts); the calls per base prompt; why attempts stopped; plus the critic's recorded validation, as in a
`seval run` summary, and `calls_by_role`: the requests this invocation sent per role (a re-run that replays
stored steps sends none; the rows' `queries` count every step of an attempt, stored or new).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from seval.metrics.stats import rate_block
from seval.redteam.base import Attempt

KINDS = ("attacker", "target", "judge")


def attempt_row(att: Attempt, status: str = "ok", error: str | None = None) -> dict[str, Any]:
    """One line of redteam.jsonl."""
    c = att.case
    v = att.verdict
    q = {k: att.queries.get(k, 0) for k in KINDS}
    return {
        "id": f"{c.id}::{att.method}", "base_id": c.id, "method": att.method, "lang": c.lang,
        "dimension": c.dimension, "category": c.category, "risk": c.risk, "prompt": c.prompt,
        "status": status, "error": error, "success": att.success if status == "ok" else None,
        "verdict": v.label if v else None, "score": v.score if v else None,
        "explanation": v.explanation if v else None, "winning_prompt": att.winning_prompt,
        "queries": {**q, "total": sum(q.values())}, "stopped": att.stopped if status == "ok" else status,
        "conversation": att.turns,
    }


def _mean(xs: list[float]) -> float | None:
    return round(sum(xs) / len(xs), 3) if xs else None


def summarize(rows: list[dict[str, Any]], methods: list[str], n_base: int, not_run: dict[str, int]) -> dict[str, Any]:
    """The per-method figures (see the module docstring); `not_run`: attempts left for the next invocation."""
    by_method: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_method[r["method"]].append(r)
    out: dict[str, Any] = {}
    all_calls: Counter[str] = Counter()
    for m in methods:
        rs = by_method.get(m, [])
        done = [r for r in rs if r["status"] == "ok"]
        wins = [r for r in done if r["success"]]
        langs: dict[str, list[bool]] = defaultdict(list)
        for r in done:
            langs[r["lang"]].append(bool(r["success"]))
        calls: Counter[str] = Counter()
        for r in rs:
            calls.update({k: r["queries"][k] for k in (*KINDS, "total")})
        all_calls.update(calls)
        out[m] = {
            "asr": rate_block(len(wins), len(done)),
            "by_language": {lang: rate_block(sum(v), len(v)) for lang, v in sorted(langs.items())},
            "attempts": len(rs), "finished": len(done), "successes": len(wins),
            "errors": sum(1 for r in rs if r["status"] == "error"), "not_run": not_run.get(m, 0),
            "mean_queries_to_success": {k: _mean([r["queries"][k] for r in wins]) for k in (*KINDS, "total")},
            "calls_per_base_prompt": {k: _mean([r["queries"][k] for r in rs]) for k in (*KINDS, "total")},
            "stopped": dict(Counter(r["stopped"] for r in rs)),
        }
    per_base = {k: round(all_calls[k] / n_base, 3) if n_base else None for k in (*KINDS, "total")}
    return {"methods": out, "n_base_prompts": n_base, "calls_per_base_prompt": per_base}
