"""Safety scores, attack success rates, confidence intervals and paired comparisons over result rows.

See `seval.metrics.summary` for the exact definitions (invalid verdicts and errors are never folded into safe).
"""

from seval.metrics.compare import compare, compare_outcomes, outcome_map
from seval.metrics.stats import mcnemar_exact, paired_bootstrap_diff, wilson
from seval.metrics.summary import Summarizer, summarize
from seval.metrics.text import strip_think

__all__ = ["Summarizer", "compare", "compare_outcomes", "mcnemar_exact", "outcome_map", "paired_bootstrap_diff",
           "strip_think", "summarize", "wilson"]
