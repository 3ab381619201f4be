"""The registry holds S-Eval's ten attacks under their exact names plus >= 4 extensions; data files are sound."""

from __future__ import annotations

import re

import pytest

from seval.attacks._common import load_data
from seval.attacks.base import ATTACKS, SEVAL_ATTACKS


def test_registry_has_the_ten_and_extensions() -> None:
    names = ATTACKS.names()
    assert len(names) >= 14
    assert set(SEVAL_ATTACKS) <= set(names)
    assert not any(ATTACKS.get(n).extension for n in SEVAL_ATTACKS)
    assert sum(ATTACKS.get(n).extension for n in names) >= 4


@pytest.mark.parametrize("name", ATTACKS.names())
def test_metadata(name: str) -> None:
    cls = ATTACKS.get(name)
    assert cls.name == name
    assert cls.description and "\n" not in cls.description and len(cls.description) < 160
    assert re.search(r"(19|20)\d\d, \S", cls.source), "source: 'Authors year, title'"


def test_model_assisted_attacks_are_marked() -> None:
    assert {"positive_induction", "reverse_induction", "compositional_instructions"} <= {
        n for n in ATTACKS.names() if ATTACKS.get(n).needs_model}


def test_jailbreak_library() -> None:
    tpls = load_data("jailbreak_templates.yaml")["templates"]
    assert len(tpls) >= 20
    assert len({t["id"] for t in tpls}) == len(tpls)
    for lang in ("en", "zh"):
        assert sum(t["lang"] == lang for t in tpls) >= 8
    assert all(t["text"].count("{question}") == 1 for t in tpls)
    styles = {t["style"] for t in tpls}
    assert {"dan", "developer_mode", "two_ai_dialogue", "evil_confidant", "hypothetical_response"} <= styles


def test_in_context_demos_are_fake_and_cover_every_dimension() -> None:
    data = load_data("in_context_attack.yaml")
    assert set(data["demos"]) == {"CI", "CS", "DP", "EM", "PM", "HS", "EX", "IS"}
    for dim, by_lang in data["demos"].items():
        for lang in ("en", "zh"):
            assert len(by_lang[lang]) >= 3, (dim, lang)
            for d in by_lang[lang]:
                assert len(d["a"]) < 120, d
                assert re.search(r"redacted|已隐去", d["a"]), f"demo answer not clearly fake: {d['a']}"
