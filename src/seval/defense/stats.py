"""Newcombe's interval for the difference of two paired proportions (with vs. without the defense).

The percentile bootstrap collapses to [0, 0] when no pair changed, which reads as certainty on 8 prompts;
Newcombe's hybrid score interval (1998, method 10: Wilson intervals of both margins, corrected by the phi
correlation of the pairs) stays honest at small n and is what `seval defend` reports.
"""

from __future__ import annotations

import math


def newcombe_paired(n11: int, n10: int, n01: int, n00: int) -> tuple[float | None, float | None]:
    """95% CI of P(A) - P(B) from paired cells: n11 both, n10 A only, n01 B only, n00 neither."""
    from seval.metrics.stats import wilson

    n = n11 + n10 + n01 + n00
    if n == 0:
        return None, None
    p1, l1, u1 = wilson(n11 + n10, n)
    p2, l2, u2 = wilson(n11 + n01, n)
    assert p1 is not None and l1 is not None and u1 is not None
    assert p2 is not None and l2 is not None and u2 is not None
    denom = (n11 + n10) * (n01 + n00) * (n11 + n01) * (n10 + n00)
    phi = (n11 * n00 - n10 * n01) / math.sqrt(denom) if denom > 0 else 0.0
    diff = p1 - p2
    dl = math.sqrt(max(0.0, (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2))
    du = math.sqrt(max(0.0, (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2))
    return max(-1.0, diff - dl), min(1.0, diff + du)
