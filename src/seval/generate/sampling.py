"""Balanced, seeded sampling into S-Eval's scales, spread evenly over dimensions, then categories, then risks.

At each level a group gets an equal share of the quota; a group with fewer prompts than its share gives the rest
to the others (water-filling). The same seed and input give the same sample.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence

from seval.errors import SevalError
from seval.records import TestCase

SCALES: dict[str, int] = {"small": 1000, "medium": 3000, "large": 5000, "full": 10000}


def parse_scale(scale: str | int | None) -> int | None:
    """small|medium|large|full or a positive number of base prompts per language; None = keep everything."""
    if scale is None or scale == "":
        return None
    if isinstance(scale, int):
        n = scale
    elif scale.lower() in SCALES:
        return SCALES[scale.lower()]
    else:
        try:
            n = int(scale)
        except ValueError:
            raise SevalError(f"bad scale {scale!r}: use small, medium, large, full or a number") from None
    if n <= 0:
        raise SevalError(f"bad scale {scale!r}: must be positive")
    return n


def allocate(capacity: dict[str, int], total: int, rng: random.Random) -> dict[str, int]:
    """Split `total` over groups as evenly as their capacities allow; leftover units go to random groups."""
    quota = {k: 0 for k in capacity}
    left = min(total, sum(capacity.values()))
    open_groups = sorted(k for k, v in capacity.items() if v > 0)
    while left > 0 and open_groups:
        share = left // len(open_groups)
        if share == 0:  # fewer units than groups: a seeded choice of who gets one more
            for k in rng.sample(open_groups, left):
                quota[k] += 1
            break
        for k in open_groups:
            give = min(share, capacity[k] - quota[k])
            quota[k] += give
            left -= give
        open_groups = [k for k in open_groups if quota[k] < capacity[k]]
    return quota


def _level_keys(c: TestCase) -> tuple[str, str, str]:
    return (c.dimension or "?", c.category or "?", c.risk or "?")


def _sample_tree(cases: Sequence[TestCase], total: int, rng: random.Random, level: int = 0) -> list[TestCase]:
    if level == 3:
        return rng.sample(list(cases), min(total, len(cases)))
    groups: dict[str, list[TestCase]] = defaultdict(list)
    for c in cases:
        groups[_level_keys(c)[level]].append(c)
    quota = allocate({k: len(v) for k, v in groups.items()}, total, rng)
    out: list[TestCase] = []
    for k in sorted(groups):
        if quota[k]:
            out += _sample_tree(groups[k], quota[k], rng, level + 1)
    return out


def balanced_sample(cases: Sequence[TestCase], per_lang: int, seed: int = 0) -> list[TestCase]:
    """Up to `per_lang` prompts per language, balanced over the taxonomy. A translated language prefers the
    translations of the source prompts kept, so zh/en pairs survive together; input order is preserved."""
    by_lang: dict[str, list[TestCase]] = defaultdict(list)
    for c in cases:
        by_lang[c.lang].append(c)
    # source languages (no from_id) first, so their picks can steer the translations
    order = sorted(by_lang, key=lambda lg: (sum(c.from_id is not None for c in by_lang[lg]) > 0, lg))
    chosen: set[int] = set()
    chosen_ids: set[str] = set()
    for lang in order:
        rng = random.Random(f"{seed}|{lang}")
        pool = by_lang[lang]
        linked = [c for c in pool if c.from_id and c.from_id in chosen_ids]
        picked = _sample_tree(linked, per_lang, rng)
        if len(picked) < per_lang:
            ids = {id(c) for c in picked}
            rest = [c for c in pool if id(c) not in ids]
            picked += _sample_tree(rest, per_lang - len(picked), rng)
        chosen |= {id(c) for c in picked}
        chosen_ids |= {c.id for c in picked}
    return [c for c in cases if id(c) in chosen]
