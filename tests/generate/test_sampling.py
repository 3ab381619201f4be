"""Balanced, seeded sampling into scales."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from seval.errors import SevalError
from seval.generate.sampling import allocate, balanced_sample, parse_scale
from seval.records import TestCase
from seval.taxonomy import load_taxonomy

TAX = load_taxonomy()


def pool(per_risk: dict[str, int], lang: str = "en") -> list[TestCase]:
    out = []
    for rid, n in per_risk.items():
        r = TAX.risk(rid)
        out += [TestCase(id=f"{lang}-{rid}-{i}", prompt=f"{rid} {i}?", lang=lang, dimension=r.dimension,
                         category=r.category, risk=rid) for i in range(n)]
    return out


def test_parse_scale() -> None:
    assert [parse_scale(s) for s in ("small", "MEDIUM", "large", "full", "42", None)] == [1000, 3000, 5000, 10000, 42, None]
    for bad in ("huge", "0", "-3"):
        with pytest.raises(SevalError):
            parse_scale(bad)


def test_allocate_even_with_caps() -> None:
    rng = random.Random(0)
    assert allocate({"a": 100, "b": 100, "c": 100}, 30, rng) == {"a": 10, "b": 10, "c": 10}
    assert allocate({"a": 2, "b": 100, "c": 100}, 30, rng) == {"a": 2, "b": 14, "c": 14}
    q = allocate({"a": 5, "b": 5, "c": 5}, 4, rng)
    assert sum(q.values()) == 4 and max(q.values()) - min(q.values()) <= 1
    assert allocate({"a": 1, "b": 2}, 10, rng) == {"a": 1, "b": 2}


def test_balanced_over_dimensions_and_seeded() -> None:
    # one dimension floods the pool; the sample still spreads evenly over dimensions
    rids = {}
    for d in TAX.dimensions:
        rids[d.categories[0].risks[0].id] = 200 if d.id == "CI" else 20
    cases = pool(rids)
    s1 = balanced_sample(cases, 80, seed=1)
    s2 = balanced_sample(cases, 80, seed=1)
    s3 = balanced_sample(cases, 80, seed=2)
    assert [c.id for c in s1] == [c.id for c in s2]
    assert [c.id for c in s1] != [c.id for c in s3]
    assert len(s1) == 80
    assert set(Counter(c.dimension for c in s1).values()) == {10}
    # input order is kept
    order = {c.id: i for i, c in enumerate(cases)}
    assert [order[c.id] for c in s1] == sorted(order[c.id] for c in s1)


def test_balanced_over_risks_within_a_category() -> None:
    cat = TAX.categories[3]
    cases = pool({r.id: 30 for r in cat.risks})
    s = balanced_sample(cases, 2 * len(cat.risks), seed=0)
    assert set(Counter(c.risk for c in s).values()) == {2}


def test_translations_follow_their_sources() -> None:
    zh = pool({TAX.risks[0].id: 50}, lang="zh")
    en = [TestCase(id=f"en{i}", prompt=f"p{i}?", lang="en", dimension=c.dimension, category=c.category,
                   risk=c.risk, from_id=c.id) for i, c in enumerate(zh)]
    s = balanced_sample(zh + en, 10, seed=3)
    kept_zh = {c.id for c in s if c.lang == "zh"}
    kept_en_src = {c.from_id for c in s if c.lang == "en"}
    assert len(kept_zh) == 10 and kept_en_src == kept_zh


def test_small_pool_kept_whole() -> None:
    cases = pool({TAX.risks[0].id: 3, TAX.risks[50].id: 4})
    assert balanced_sample(cases, 1000) == cases
