"""Choosing risks and languages for a generation run."""

from __future__ import annotations

import pytest

from seval.errors import SevalError
from seval.generate.pipeline import parse_langs, resolve_risks
from seval.taxonomy import load_taxonomy

TAX = load_taxonomy()


def test_resolve_risks_expands_ids_categories_and_dimensions() -> None:
    assert resolve_risks(TAX, "all") == TAX.risks
    leaf = TAX.risks[7]
    cat = TAX.category("CI.drug_crimes")
    got = resolve_risks(TAX, f"{leaf.id}, CI.drug_crimes,{leaf.id}")
    assert got[0] == leaf and got[1:] == [r for r in cat.risks if r != leaf]
    hs = resolve_risks(TAX, "Hate Speech")
    assert {r.dimension for r in hs} == {"HS"} and len(hs) == sum(len(c.risks) for c in TAX.dimension("HS").categories)


@pytest.mark.parametrize("spec", ["nope.risk", ",", ""])
def test_resolve_risks_bad(spec: str) -> None:
    with pytest.raises(SevalError):
        resolve_risks(TAX, spec)


def test_parse_langs() -> None:
    assert parse_langs("zh, en,zh") == ["zh", "en"]
    for bad in ("fr", "", "en,de"):
        with pytest.raises(SevalError, match="bad --lang"):
            parse_langs(bad)
