"""Exact and near-duplicate removal, within the new prompts and against existing benchmarks (same language)."""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Sequence

from seval.generate.embeddings import Embedder
from seval.records import TestCase

Dropped = list[tuple[TestCase, str]]


def normalise(text: str) -> str:
    """The key of exact duplicates: NFKC, case-folded, punctuation and whitespace removed."""
    t = unicodedata.normalize("NFKC", text).casefold()
    return re.sub(r"[\W_]+", "", t)


def exact_dedup(cases: Sequence[TestCase], existing: Sequence[TestCase] = ()) -> tuple[list[TestCase], Dropped]:
    """Keep the first of each normalised text; drop those already in an existing benchmark."""
    seen_old = {(c.lang, normalise(c.prompt)) for c in existing}
    seen: dict[tuple[str, str], TestCase] = {}
    kept: list[TestCase] = []
    dropped: Dropped = []
    for c in cases:
        key = (c.lang, normalise(c.prompt))
        if key in seen_old:
            dropped.append((c, "duplicate of an existing benchmark prompt"))
        elif key in seen:
            dropped.append((c, f"duplicate (of {seen[key].id[:8]})"))
        else:
            seen[key] = c
            kept.append(c)
    return kept, dropped


def near_dedup(cases: Sequence[TestCase], existing: Sequence[TestCase], embedder: Embedder,
               thresholds: dict[str, dict[str, float]]) -> tuple[list[TestCase], Dropped]:
    """Greedy, in input order: a prompt is dropped when any similarity method puts it at or above its threshold
    against an existing prompt or an earlier kept prompt of the same language."""
    by_lang: dict[str, list[int]] = defaultdict(list)
    for i, c in enumerate(cases):
        by_lang[c.lang].append(i)
    old_by_lang: dict[str, list[TestCase]] = defaultdict(list)
    for c in existing:
        old_by_lang[c.lang].append(c)
    drop: dict[int, str] = {}
    for lang, idx in by_lang.items():
        new = [cases[i].prompt for i in idx]
        old = old_by_lang.get(lang, [])
        within = embedder.sim_matrices(new, new, lang)
        against = embedder.sim_matrices(new, [c.prompt for c in old], lang)
        kept_local: list[int] = []
        for a in range(len(idx)):
            reason = None
            for method, sims in against.items():
                t = thresholds[method].get(lang, thresholds[method]["en"])
                if sims.shape[1] and sims[a].max() >= t:
                    j = int(sims[a].argmax())
                    reason = f"near-duplicate of an existing prompt ({method} {sims[a, j]:.2f} >= {t})"
                    break
            if reason is None and kept_local:
                for method, sims in within.items():
                    t = thresholds[method].get(lang, thresholds[method]["en"])
                    row = sims[a, kept_local]
                    if row.max() >= t:
                        j = kept_local[int(row.argmax())]
                        reason = f"near-duplicate ({method} {row.max():.2f} >= {t}, of {cases[idx[j]].id[:8]})"
                        break
            if reason is None:
                kept_local.append(a)
            else:
                drop[idx[a]] = reason
    kept = [c for i, c in enumerate(cases) if i not in drop]
    dropped = [(cases[i], r) for i, r in sorted(drop.items())]
    return kept, dropped
