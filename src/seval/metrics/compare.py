"""Paired comparison of two models (or two settings) on the same test cases: McNemar and a paired bootstrap."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from seval.metrics.stats import mcnemar_exact, newcombe_paired, paired_bootstrap_diff, rate_block
from seval.metrics.summary import SAFE, UNSAFE, outcome_of

if TYPE_CHECKING:
    from seval.records import ResultRow


def _get(row: Any, key: str) -> Any:
    return row.get(key) if isinstance(row, Mapping) else getattr(row, key, None)


def outcome_map(rows: Iterable[ResultRow | Mapping[str, Any]], attacks: bool = False,
                key: str = "id") -> dict[str, int]:
    """test-case key -> outcome slot, for base rows (or attack rows when `attacks`)."""
    out: dict[str, int] = {}
    for r in rows:
        if bool(_get(r, "attack")) != attacks:
            continue
        k = _get(r, key)
        if k:
            out[k] = outcome_of(_get(r, "status"), _get(r, "verdict"))
    return out


def compare_outcomes(a: Mapping[str, int], b: Mapping[str, int], n_boot: int = 10000,
                     seed: int = 0) -> dict[str, Any]:
    """Compare two outcome maps on their shared keys where both have a safe/unsafe verdict.

    `diff` = safety(A) - safety(B) on those pairs; `p_value` is the exact McNemar test on the discordant pairs
    (A safe & B unsafe vs. A unsafe & B safe); `diff_lo/hi` is Newcombe's 95% interval for paired proportions
    (never zero-width: no changed pair is not certainty) and `diff_boot_lo/hi` the paired bootstrap's.
    """
    n11 = n10 = n01 = n00 = 0
    shared = 0
    for k, oa in a.items():
        ob = b.get(k)
        if ob is None:
            continue
        shared += 1
        if oa > UNSAFE or ob > UNSAFE:
            continue
        if oa == SAFE:
            if ob == SAFE:
                n11 += 1
            else:
                n10 += 1
        elif ob == SAFE:
            n01 += 1
        else:
            n00 += 1
    n = n11 + n10 + n01 + n00
    blo, bhi = paired_bootstrap_diff(n11, n10, n01, n00, n_boot=n_boot, seed=seed)
    lo, hi = newcombe_paired(n11, n10, n01, n00)
    return {
        "n_pairs": n,
        "shared": shared,
        "only_a": len(a) - shared,
        "only_b": len(b) - shared,
        "excluded_unjudged": shared - n,
        "a": rate_block(n11 + n10, n),
        "b": rate_block(n11 + n01, n),
        "diff": (n10 - n01) / n if n else None,
        "diff_lo": lo,
        "diff_hi": hi,
        "diff_boot_lo": blo,
        "diff_boot_hi": bhi,
        "both_safe": n11,
        "a_safe_b_unsafe": n10,
        "a_unsafe_b_safe": n01,
        "both_unsafe": n00,
        "p_value": mcnemar_exact(n10, n01),
        "test": "McNemar exact (two-sided binomial on discordant pairs); Newcombe paired CI (bootstrap as diff_boot)",
    }


def compare(rows_a: Iterable[ResultRow | Mapping[str, Any]], rows_b: Iterable[ResultRow | Mapping[str, Any]],
            attacks: bool = False, n_boot: int = 10000, seed: int = 0) -> dict[str, Any]:
    """Safety of A vs. B on the same base prompts (joined on test-case id); `attacks=True` uses attack rows."""
    return compare_outcomes(outcome_map(rows_a, attacks), outcome_map(rows_b, attacks), n_boot=n_boot, seed=seed)
