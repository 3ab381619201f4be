"""Newcombe's paired interval: contains the difference, stays honest when no pair changed."""

from __future__ import annotations

import pytest

from seval.defense.stats import newcombe_paired


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
