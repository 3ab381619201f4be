"""Interval estimates and paired tests, in one place: Wilson intervals, Newcombe's paired-difference interval,
exact McNemar, the paired bootstrap of a difference."""

from __future__ import annotations

from functools import lru_cache
from math import sqrt
from statistics import NormalDist
from typing import Any

Z95 = 1.959963984540054


@lru_cache(maxsize=65536)
def wilson(k: int, n: int, confidence: float = 0.95) -> tuple[float | None, float | None, float | None]:
    """(rate, lo, hi) of k successes in n trials with the Wilson score interval; all None when n == 0.

    Closed form, identical to scipy's `binomtest(k, n).proportion_ci(method="wilson")` (the unit tests check
    this) but without its per-call p-value computation: a summary computes about a thousand intervals.
    """
    if n <= 0:
        return None, None, None
    if not 0 <= k <= n:
        raise ValueError(f"wilson: need 0 <= k <= n, got k={k}, n={n}")
    z = Z95 if confidence == 0.95 else NormalDist().inv_cdf(0.5 + confidence / 2)
    p = k / n
    z2 = z * z
    denom = 1 + z2 / n
    center = (p + z2 / (2 * n)) / denom
    half = z * sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    lo = 0.0 if k == 0 else max(0.0, center - half)
    hi = 1.0 if k == n else min(1.0, center + half)
    return p, lo, hi


def rate_block(k: int, n: int) -> dict[str, Any]:
    """`{rate, lo, hi, n}` for k of n; the shape every rate in a summary takes."""
    rate, lo, hi = wilson(k, n)
    return {"rate": rate, "lo": lo, "hi": hi, "n": n}


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value from the discordant pair counts b and c (binomial test at 1/2)."""
    if b + c == 0:
        return 1.0
    from scipy.stats import binomtest

    return float(binomtest(b, b + c, 0.5, alternative="two-sided").pvalue)


def paired_bootstrap_diff(n11: int, n10: int, n01: int, n00: int, n_boot: int = 10000,
                          seed: int = 0, confidence: float = 0.95) -> tuple[float | None, float | None]:
    """CI of P(A safe) - P(B safe) by resampling pairs; cells: n11 both safe, n10 A only, n01 B only, n00 neither.

    Resampling n pairs with replacement draws the four cell counts from a multinomial, so this is the
    paired bootstrap computed exactly in O(n_boot) instead of O(n * n_boot).
    """
    import numpy as np

    n = n11 + n10 + n01 + n00
    if n == 0:
        return None, None
    if n10 == 0 and n01 == 0:
        # no pair differs: every resample has difference 0 and the percentile interval collapses to [0, 0],
        # which reads as certainty; Newcombe's score interval is what the data support
        return newcombe_paired(n11, n10, n01, n00, confidence)
    rng = np.random.default_rng(seed)
    cells = rng.multinomial(n, [n11 / n, n10 / n, n01 / n, n00 / n], size=n_boot)
    diffs = (cells[:, 1] - cells[:, 2]) / n
    alpha = (1.0 - confidence) / 2
    lo, hi = np.quantile(diffs, [alpha, 1 - alpha])
    return float(lo), float(hi)


def newcombe_paired(n11: int, n10: int, n01: int, n00: int,
                    confidence: float = 0.95) -> tuple[float | None, float | None]:
    """CI of P(A) - P(B) from paired cells (n11 both, n10 A only, n01 B only, n00 neither); (None, None) if empty.

    Newcombe (1998, Stat Med 17:2635, method 10): the Wilson intervals of both margins, combined with the
    continuity-corrected phi correlation of the pairs. Honest at small n and never zero-width, unlike the
    percentile bootstrap when no pair changed.
    """
    n = n11 + n10 + n01 + n00
    if n == 0:
        return None, None
    p1, l1, u1 = wilson(n11 + n10, n, confidence)
    p2, l2, u2 = wilson(n11 + n01, n, confidence)
    assert p1 is not None and l1 is not None and u1 is not None
    assert p2 is not None and l2 is not None and u2 is not None
    denom = (n11 + n10) * (n01 + n00) * (n11 + n01) * (n10 + n00)
    a = n11 * n00 - n10 * n01
    if denom == 0:
        phi = 0.0
    elif a > n / 2:
        phi = (a - n / 2) / sqrt(denom)
    elif a >= 0:
        phi = 0.0
    else:
        phi = a / sqrt(denom)
    diff = p1 - p2
    dl = sqrt(max(0.0, (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2))
    du = sqrt(max(0.0, (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2))
    return max(-1.0, diff - dl), min(1.0, diff + du)


def wilson_ci(k: int, n: int, digits: int | None = 4) -> list[float] | None:
    """[lo, hi] of the 95% Wilson interval (rounded), or None when n == 0: the list form reports print."""
    _, lo, hi = wilson(k, n)
    if lo is None or hi is None:
        return None
    return [round(lo, digits), round(hi, digits)] if digits is not None else [lo, hi]


def mean_of_rates_ci(blocks: list[dict[str, Any]]) -> dict[str, Any]:
    """Unweighted mean of several rates with a normal-approximation 95% interval.

    The mean ASR over attacks is not a single binomial proportion, so Wilson does not apply; its variance is
    sum(p_k (1 - p_k) / n_k) / K^2 (independent attacks), clipped to [0, 1].
    """
    used = [b for b in blocks if b.get("n") and b.get("rate") is not None]
    if not used:
        return {"rate": None, "lo": None, "hi": None, "n": 0, "k": 0, "method": "normal"}
    k = len(used)
    mean = sum(b["rate"] for b in used) / k
    var = sum(b["rate"] * (1 - b["rate"]) / b["n"] for b in used) / (k * k)
    half = Z95 * var ** 0.5
    return {"rate": mean, "lo": max(0.0, mean - half), "hi": min(1.0, mean + half),
            "n": sum(b["n"] for b in used), "k": k, "method": "normal"}
