"""The audit's sampling design: strata of judged rows, an allocation that draws more where the judge is likely
wrong (uncertain verdicts), every stratum represented, and each row's inverse inclusion probability (weight).

Stratified sampling without replacement: stratum h holds N_h rows, n_h of them are drawn at random, each drawn
row stands for N_h / n_h rows. Allocation is proportional to N_h times a boost (UNCERTAIN_BOOST for strata of
uncertain verdicts), with at least one row per stratum and never more than N_h.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from seval.errors import SevalError

#: the stratum fields `--strata` may name, and the default design
STRATA = ("verdict", "lang", "dimension", "uncertain")
DEFAULT_STRATA = ("verdict", "lang", "uncertain")
#: how many times more often (per row) an uncertain verdict is drawn than a confident one
UNCERTAIN_BOOST = 3.0


@dataclass(frozen=True, slots=True)
class Drawn:
    """One drawn row: its id, its stratum, how many rows the stratum holds and how many were drawn from it."""

    id: str
    stratum: str
    stratum_size: int
    stratum_drawn: int

    @property
    def weight(self) -> float:
        """The inverse inclusion probability N_h / n_h."""
        return self.stratum_size / self.stratum_drawn


def parse_strata(text: str | Sequence[str] | None) -> tuple[str, ...]:
    """'verdict,lang' -> ('verdict', 'lang'); unknown names are a one-line error."""
    if text is None:
        return DEFAULT_STRATA
    names = [s.strip() for s in (text.split(",") if isinstance(text, str) else text) if s.strip()]
    bad = [s for s in names if s not in STRATA]
    if bad or not names:
        raise SevalError(f"--strata: unknown stratum {', '.join(bad) or '(none)'}; valid: {', '.join(STRATA)}")
    return tuple(dict.fromkeys(names))


def is_auditable(row: Mapping[str, Any]) -> bool:
    """Rows the safety score rests on: base prompts (no attack) with a safe or unsafe verdict."""
    return not row.get("attack") and row.get("verdict") in ("safe", "unsafe")


def stratum_of(row: Mapping[str, Any], strata: Sequence[str]) -> str:
    """The stratum name of a row, e.g. 'unsafe|en|uncertain'."""
    parts = []
    for s in strata:
        if s == "uncertain":
            parts.append("uncertain" if "uncertain" in (row.get("flags") or ()) else "certain")
        else:
            parts.append(str(row.get(s) or "?"))
    return "|".join(parts)


def allocate(sizes: Sequence[int], boosts: Sequence[float], n: int) -> list[int]:
    """Rows to draw per stratum: one each, the rest proportional to size x boost (largest remainder), capped."""
    sizes_a = np.asarray(sizes, dtype=np.int64)
    k = int((sizes_a > 0).sum())
    if n < k:
        raise SevalError(f"--sample {n}: the design has {k} strata and draws at least one row from each; "
                         f"ask for {k} or more, or use fewer --strata")
    take = np.minimum(sizes_a, 1)
    n = min(n, int(sizes_a.sum()))
    share = sizes_a * np.asarray(boosts, dtype=float)
    while take.sum() < n:
        room = sizes_a - take
        open_ = room > 0
        left = n - int(take.sum())
        ideal = np.where(open_, share, 0.0)
        ideal = ideal / ideal.sum() * left
        add = np.minimum(np.floor(ideal).astype(np.int64), room)
        if add.sum() == 0:  # hand out the remainder one row at a time, largest fractional part first
            order = np.argsort(-(ideal - np.floor(ideal)) - open_ * 1e-9, kind="stable")
            for i in order[:left]:
                if room[i] > 0:
                    add[i] += 1
        take = take + add
    return [int(x) for x in take]


def draw(rows: Sequence[Mapping[str, Any]], n: int, strata: Sequence[str] = DEFAULT_STRATA,
         seed: int = 0) -> list[Drawn]:
    """Draw a stratified sample of `n` auditable rows, in a seeded random order (strata interleaved)."""
    groups: dict[str, list[str]] = {}
    for row in rows:
        if is_auditable(row):
            groups.setdefault(stratum_of(row, strata), []).append(str(row["id"]))
    if not groups:
        raise SevalError("nothing to audit: the run has no base prompt with a safe or unsafe verdict")
    names = sorted(groups)
    sizes = [len(groups[s]) for s in names]
    boosts = [UNCERTAIN_BOOST if s.split("|")[list(strata).index("uncertain")] == "uncertain" else 1.0
              for s in names] if "uncertain" in strata else [1.0] * len(names)
    counts = allocate(sizes, boosts, n)
    rng = np.random.default_rng(seed)
    out = []
    for name, size, k in zip(names, sizes, counts, strict=True):
        for i in rng.choice(size, size=k, replace=False):
            out.append(Drawn(groups[name][int(i)], name, size, k))
    return [out[int(i)] for i in rng.permutation(len(out))]
