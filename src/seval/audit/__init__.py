"""Auditing a run's verdicts by hand and correcting its safety score for the judge's measured error.

- design: the stratified sample (more from strata where the judge is likely wrong, weights N_h / n_h)
- labels: the sample and the human labels, in the run's store.sqlite
- export / importer: the sample as JSONL or CSV; labels back from JSONL, CSV or the report page's JSON
- terminal: labelling one item at a time in the terminal
- estimate: weighted agreement, sensitivity, specificity; Rogan-Gladen corrected safety with a bootstrap
- block: summary.json's `audit` block; actions: what `seval audit` does to a run folder
"""

from seval.audit.block import audit_block, refresh_summary

__all__ = ["audit_block", "refresh_summary"]
