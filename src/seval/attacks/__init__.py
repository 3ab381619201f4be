"""Attacks: the ten S-Eval adversarial instruction attacks and extensions, one module each (see `base`)."""

from seval.attacks.base import (
    ATTACKS,
    SEVAL_ATTACKS,
    Attack,
    AttackStats,
    apply_attacks,
    attack_names,
    get_attack,
)

__all__ = ["ATTACKS", "SEVAL_ATTACKS", "Attack", "AttackStats", "apply_attacks", "attack_names", "get_attack"]
