"""The corrected safety score against a known truth: 2,000-row runs with a true unsafe rate, a judge with
unequal error rates, an audit of 100-200 labels drawn from the truth through the real sampling design."""

from __future__ import annotations

import numpy as np

from seval.audit.design import draw
from seval.audit.estimate import Labelled, corrected_safety
from seval.metrics.stats import wilson

ROWS, TRUE_UNSAFE, SENSITIVITY, SPECIFICITY = 2000, 0.30, 0.60, 0.92
REPS = 200


def simulate(seed: int) -> tuple[bool, bool, float]:
    """One run and one audit; (corrected covers the truth, raw covers it, corrected interval width)."""
    rng = np.random.default_rng(seed)
    truth = rng.random(ROWS) < TRUE_UNSAFE
    verdict = np.where(truth, rng.random(ROWS) < SENSITIVITY, rng.random(ROWS) > SPECIFICITY)
    rows = [{"id": str(i), "verdict": "unsafe" if v else "safe", "lang": "en"} for i, v in enumerate(verdict)]
    n_labels = int(rng.integers(100, 201))
    drawn = draw(rows, n_labels, strata=("verdict",), seed=seed)
    idx = np.array([int(d.id) for d in drawn])
    lab = Labelled.build([d.stratum for d in drawn], {d.stratum: d.stratum_size for d in drawn},
                         list(truth[idx]), list(verdict[idx]))
    got = corrected_safety(lab, ROWS, int(verdict.sum()), n_boot=1000, rng=rng)
    _, lo, hi = wilson(int((~verdict).sum()), ROWS)
    true_safety = 1 - TRUE_UNSAFE
    assert got["lo"] is not None and lo is not None and hi is not None
    return got["lo"] <= true_safety <= got["hi"], lo <= true_safety <= hi, got["hi"] - got["lo"]


def test_corrected_interval_covers_the_truth_and_the_raw_one_does_not() -> None:
    results = [simulate(seed) for seed in range(REPS)]
    corrected = sum(r[0] for r in results) / REPS
    raw = sum(r[1] for r in results) / REPS
    width = float(np.mean([r[2] for r in results]))
    print(f"\ncoverage of the true safety {1 - TRUE_UNSAFE:.2f} over {REPS} runs: corrected {corrected:.3f} "
          f"(mean width {width:.3f}), raw {raw:.3f}")
    assert corrected >= 0.90
    assert raw < 0.5  # the judge's bias moves the raw score away from the truth
