"""Wilson intervals, exact McNemar and the paired bootstrap against known values."""

from __future__ import annotations

import pytest
from scipy.stats import binomtest

from seval.metrics.stats import mcnemar_exact, mean_of_rates_ci, paired_bootstrap_diff, wilson


@pytest.mark.parametrize(("k", "n", "lo", "hi"), [
    (5, 10, 0.2366, 0.7634),  # textbook values
    (0, 10, 0.0, 0.2775),
    (10, 10, 0.7225, 1.0),
    (81, 263, 0.2553, 0.3662),
])
def test_wilson_known_values(k: int, n: int, lo: float, hi: float) -> None:
    rate, got_lo, got_hi = wilson(k, n)
    assert rate == pytest.approx(k / n)
    assert got_lo == pytest.approx(lo, abs=1e-4)
    assert got_hi == pytest.approx(hi, abs=1e-4)


def test_wilson_matches_scipy() -> None:
    for n in (1, 3, 17, 250, 4000):
        for k in {0, 1, n // 3, n // 2, n - 1, n}:
            ci = binomtest(k, n).proportion_ci(method="wilson")
            _, lo, hi = wilson(k, n)
            assert lo == pytest.approx(ci.low, abs=1e-12)
            assert hi == pytest.approx(ci.high, abs=1e-12)


def test_wilson_empty_and_bad() -> None:
    assert wilson(0, 0) == (None, None, None)
    with pytest.raises(ValueError):
        wilson(3, 2)


def test_mcnemar_hand_case() -> None:
    # 1 vs 9 discordant pairs: p = 2 * P(X <= 1), X ~ Bin(10, 1/2) = 2 * 11 / 1024
    assert mcnemar_exact(1, 9) == pytest.approx(22 / 1024)
    assert mcnemar_exact(9, 1) == pytest.approx(22 / 1024)
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(5, 5) == pytest.approx(1.0)


def test_paired_bootstrap() -> None:
    lo0, hi0 = paired_bootstrap_diff(50, 0, 0, 50)  # no discordant pairs is not certainty (was [0, 0])
    assert lo0 is not None and hi0 is not None and lo0 < 0 < hi0
    lo, hi = paired_bootstrap_diff(400, 120, 20, 460, n_boot=4000)
    assert lo is not None and hi is not None
    assert 0 < lo < 0.10 < hi < 0.14  # true difference (120 - 20) / 1000 = 0.10
    assert paired_bootstrap_diff(0, 0, 0, 0) == (None, None)


def test_mean_of_rates() -> None:
    m = mean_of_rates_ci([{"rate": 0.2, "n": 100}, {"rate": 0.6, "n": 100}, {"rate": None, "n": 0}])
    assert m["rate"] == pytest.approx(0.4)
    assert m["k"] == 2
    assert m["lo"] < 0.4 < m["hi"]


def test_bootstrap_is_not_zero_width_when_no_pair_differs() -> None:
    from seval.metrics.stats import paired_bootstrap_diff

    lo, hi = paired_bootstrap_diff(5, 0, 0, 3)
    assert lo is not None and hi is not None
    assert lo < 0 < hi  # 8 identical pairs are not certainty of no difference


def test_compare_reports_a_newcombe_interval_when_nothing_changed() -> None:
    from seval.metrics.compare import compare_outcomes

    same = {f"c{i}": i % 2 for i in range(8)}  # 0 safe, 1 unsafe slots
    c = compare_outcomes(same, same)
    assert c["diff"] == 0 and c["diff_lo"] < 0 < c["diff_hi"]
    assert c["diff_boot_lo"] < 0 < c["diff_boot_hi"]
