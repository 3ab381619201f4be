"""Newcombe's paired interval: contains the difference, stays honest when no pair changed."""

from __future__ import annotations

import pytest

from seval.metrics.stats import newcombe_paired


def test_no_change_is_not_certainty() -> None:
    lo, hi = newcombe_paired(0, 0, 0, 8)
    assert lo is not None and hi is not None
    assert lo == pytest.approx(-hi) and 0.25 < hi < 0.4  # about the Wilson upper bound of 0/8


@pytest.mark.parametrize("cells", [(10, 5, 1, 20), (0, 3, 0, 5), (4, 0, 4, 0), (30, 0, 0, 30), (1, 9, 0, 0)])
def test_contains_the_difference_and_stays_in_range(cells: tuple[int, int, int, int]) -> None:
    _, n10, n01, _ = cells
    n = sum(cells)
    lo, hi = newcombe_paired(*cells)
    assert lo is not None and hi is not None
    assert -1.0 <= lo <= (n10 - n01) / n <= hi <= 1.0


def test_more_evidence_narrows_and_empty_is_none() -> None:
    small = newcombe_paired(2, 3, 0, 3)
    large = newcombe_paired(20, 30, 0, 30)
    assert (large[1] - large[0]) < (small[1] - small[0])  # type: ignore[operator]
    assert large[0] > 0  # a clear gain excludes zero
    assert newcombe_paired(0, 0, 0, 0) == (None, None)


def test_known_values_cavo_2012() -> None:
    """Fagerland, Lydersen & Laake (2017), ch. 8, Cavo et al. (2012): [[59, 6], [16, 80]] ->
    estimate -0.0621, 95% CI -0.1186 to -0.0046 (the contingencytables R package's test of the same method)."""
    lo, hi = newcombe_paired(59, 6, 16, 80)
    assert lo == pytest.approx(-0.1186, abs=5e-5)
    assert hi == pytest.approx(-0.0046, abs=5e-5)


def test_swapping_the_arms_negates_the_interval() -> None:
    lo, hi = newcombe_paired(59, 6, 16, 80)
    lo2, hi2 = newcombe_paired(59, 16, 6, 80)
    assert (lo2, hi2) == pytest.approx((-hi, -lo))  # type: ignore[operator]


def test_phi_is_continuity_corrected() -> None:
    """n11*n00 - n10*n01 between 0 and n/2 gives phi = 0: the interval equals the independent square-and-add."""
    from math import sqrt

    from seval.metrics.stats import wilson

    cells = (3, 4, 2, 3)  # 9 - 8 = 1 <= n/2 = 6
    n = sum(cells)
    p1, l1, u1 = wilson(7, n)
    p2, l2, u2 = wilson(5, n)
    lo, hi = newcombe_paired(*cells)
    assert lo == pytest.approx(p1 - p2 - sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2))  # type: ignore[operator]
    assert hi == pytest.approx(p1 - p2 + sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2))  # type: ignore[operator]
