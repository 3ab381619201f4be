"""Exact and near-duplicate removal, within the new prompts and against existing benchmarks (same language)."""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from seval.generate.embeddings import Embedder, cosine
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
               thresholds: dict[str, dict[str, float]], block: int = 512) -> tuple[list[TestCase], Dropped]:
    """Greedy, in input order: a prompt is dropped when any similarity method puts it at or above its threshold
    against an existing prompt or an earlier kept prompt of the same language. Works in blocks, so memory grows
    with block x n, not n x n."""
    by_lang: dict[str, list[int]] = defaultdict(list)
    for i, c in enumerate(cases):
        by_lang[c.lang].append(i)
    old_by_lang: dict[str, list[str]] = defaultdict(list)
    for c in existing:
        old_by_lang[c.lang].append(c.prompt)
    drop: dict[int, str] = {}
    for lang, idx in by_lang.items():
        new = [cases[i].prompt for i in idx]
        old = old_by_lang.get(lang, [])
        methods = embedder.methods(lang)
        vecs = {m: embedder.vectors(new + old, m) for m in methods}
        thr = {m: thresholds[m].get(lang, thresholds[m]["en"]) for m in methods}
        # best match among existing prompts, per new prompt and method
        best_old: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for m in methods:
            top = np.full(len(new), -1.0, dtype=np.float32)
            arg = np.zeros(len(new), dtype=np.int64)
            for s in range(0, len(new), block):
                e = min(s + block, len(new))
                for o in range(0, len(old), block * 8):
                    sims = cosine(vecs[m][s:e], vecs[m][len(new) + o:len(new) + min(o + block * 8, len(old))])
                    better = sims.max(axis=1) > top[s:e]
                    top[s:e] = np.where(better, sims.max(axis=1), top[s:e])
                    arg[s:e] = np.where(better, sims.argmax(axis=1) + o, arg[s:e])
            best_old[m] = (top, arg)
        kept_local: list[int] = []
        for s in range(0, len(new), block):
            rows = list(range(s, min(s + block, len(new))))
            vs_kept = {m: cosine(vecs[m][s:rows[-1] + 1], vecs[m][kept_local]) if kept_local else None
                       for m in methods}
            vs_self = {m: cosine(vecs[m][s:rows[-1] + 1], vecs[m][s:rows[-1] + 1]) for m in methods}
            n_prev = len(kept_local)
            for a in rows:
                r = a - s
                reason = None
                for m in methods:
                    top, arg = best_old[m]
                    if old and top[a] >= thr[m]:
                        reason = f"near-duplicate of an existing prompt ({m} {top[a]:.2f} >= {thr[m]})"
                        break
                    best, j = -1.0, -1
                    if vs_kept[m] is not None and n_prev:
                        k = int(vs_kept[m][r].argmax())
                        best, j = float(vs_kept[m][r, k]), kept_local[k]
                    in_block = kept_local[n_prev:]
                    if in_block:
                        row = vs_self[m][r, [k - s for k in in_block]]
                        k = int(row.argmax())
                        if row[k] > best:
                            best, j = float(row[k]), in_block[k]
                    if best >= thr[m]:
                        reason = f"near-duplicate ({m} {best:.2f} >= {thr[m]}, of {cases[idx[j]].id[:8]})"
                        break
                if reason is None:
                    kept_local.append(a)
                else:
                    drop[idx[a]] = reason
    kept = [c for i, c in enumerate(cases) if i not in drop]
    dropped = [(cases[i], r) for i, r in sorted(drop.items())]
    return kept, dropped
