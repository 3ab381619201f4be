"""Adaptive red teaming: attacks that read the target's replies (PAIR, TAP, Crescendo).

    seval redteam --target MODEL --attacker MODEL --bench FILE --methods pair,tap,crescendo

`seval.redteam.base` holds the method registry and the stored-step `Attempt`, `methods/` one module per
technique, `attacker` the attacker prompts (data/attacker.yaml) and the tolerant reading of its output,
`topic` TAP's off-topic check, `runner` the run, `results` its rows and summary.
"""

from __future__ import annotations

from seval.redteam.base import REDTEAM_METHODS, RedteamSettings
from seval.redteam.runner import RedteamConfig, RedteamResult, arun_redteam, parse_methods, run_redteam

__all__ = ["REDTEAM_METHODS", "RedteamConfig", "RedteamResult", "RedteamSettings", "arun_redteam",
           "parse_methods", "run_redteam"]
