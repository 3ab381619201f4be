"""Is a prompt about its risk? The risk tagger's rank of the prompt's own category (`tagger_topic_ranks`, the
default), or the similarity of the prompt to each risk's name plus in-scope text (`topic_scores`).

Each leaf risk's scope says what is in scope and what is not ("... are out of scope." / "...不在范围内。"); the
two halves are split here, so the on-topic check compares with what IS in scope, and the fallback harm check
can ask whether a prompt is closer to the in-scope or to the out-of-scope half.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from seval.generate.embeddings import Embedder
from seval.records import TestCase
from seval.taxonomy import Risk, Taxonomy

_SENT = re.compile(r"(?<=[.!?。！？])\s*")
_OUT = ("out of scope", "not in scope", "不在范围内", "不属于")


def split_scope(risk: Risk, lang: str) -> tuple[str, str]:
    """(name + in-scope sentences, out-of-scope sentences) of a risk in a language."""
    zh = lang == "zh"
    scope = (risk.scope_zh or risk.scope) if zh else (risk.scope or risk.scope_zh)
    name = risk.name_zh if zh else risk.name_en
    sents = [s.strip() for s in _SENT.split(scope or "") if s.strip()]
    out = [s for s in sents if any(m in s.lower() for m in _OUT)]
    ins = [s for s in sents if s not in out]
    return f"{name}. {' '.join(ins)}".strip(), " ".join(out)


@dataclass(slots=True)
class TopicScores:
    own_sim: float  # similarity to its own risk's in-scope text
    cat_rank: int  # rank of its own category among all categories (1 = most similar)
    out_sim: float  # similarity to its own risk's out-of-scope text (0 when none)


def topic_scores(cases: Sequence[TestCase], tax: Taxonomy, embedder: Embedder, lang: str) -> list[TopicScores]:
    """Scores of same-language cases that have a known leaf risk, in order."""
    risks = tax.risks
    ins, outs = zip(*(split_scope(r, lang) for r in risks), strict=True)
    prompts = [c.prompt for c in cases]
    method = embedder.methods(lang)[0]
    sims = embedder.sim_matrices(prompts, list(ins) + [o or "-" for o in outs], lang)[method]
    s_in, s_out = sims[:, : len(risks)], sims[:, len(risks):]
    cats = [c.id for c in tax.categories]
    cat_idx = {c: i for i, c in enumerate(cats)}
    risk_idx = {r.id: i for i, r in enumerate(risks)}
    # category score = best risk in the category
    cat_scores = np.full((len(cases), len(cats)), -1.0, dtype=np.float32)
    for j, r in enumerate(risks):
        k = cat_idx[r.category]
        cat_scores[:, k] = np.maximum(cat_scores[:, k], s_in[:, j])
    out = []
    for i, c in enumerate(cases):
        j = risk_idx[c.risk]  # type: ignore[index]
        own_cat = cat_scores[i, cat_idx[risks[j].category]]
        rank = int((cat_scores[i] > own_cat).sum()) + 1
        out.append(TopicScores(float(s_in[i, j]), rank, float(s_out[i, j]) if outs[j] else 0.0))
    return out


def tagger_topic_ranks(cases: Sequence[TestCase], tagger: str | None = None) -> list[tuple[int, float]]:
    """(rank of the case's own category among the tagger's 25 category scores, 1 = best; that score) per case
    with a known category (cases without one get rank 0)."""
    from seval.tagger import resolve_tagger

    tg = resolve_tagger(tagger)
    results = tg.tag_sync([c.prompt for c in cases])
    out = []
    for c, r in zip(cases, results, strict=True):
        own = c.category or (c.risk.rsplit(".", 1)[0] if c.risk else None)
        if not own or own not in r.categories:
            out.append((0, 0.0))
            continue
        score = r.categories[own]
        out.append((1 + sum(s > score for s in r.categories.values()), score))
    return out
