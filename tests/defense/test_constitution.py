"""Constitutions load from data, cover the taxonomy, and bad files fail with one-line errors naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from seval.defense.constitution import CLAUSE_PARTS, builtin_names, load_constitution
from seval.errors import SevalError
from seval.taxonomy import load_taxonomy

MINIMAL = """
name: mine
general: ["Be safe."]
refusal: "No."
categories:
  CI.drug_crimes:
    refuse: "No drug recipes."
scenarios:
  strict:
    always: [PM]
    threshold: 0.2
"""


def test_default_covers_every_dimension_and_category_in_both_languages() -> None:
    con = load_constitution("default")
    tax = load_taxonomy()
    assert sorted(con.dimensions) == sorted(d.id for d in tax.dimensions)
    assert sorted(con.categories) == sorted(c.id for c in tax.categories)
    for clause in [*con.dimensions.values(), *con.categories.values()]:
        for part in CLAUSE_PARTS:
            text = getattr(clause, part)
            assert text.get("en") and text.get("zh"), (clause.id, part)
    assert con.general["en"] and con.general["zh"] and con.refusal["zh"]
    for name in ("general", "children_education", "medical_information", "financial_customer_service",
                 "code_assistant"):
        assert name in con.scenarios
    assert "default" in builtin_names()


def test_scenarios_tighten_and_relax() -> None:
    con = load_constitution("default")
    kids = con.scenario("children_education")
    assert kids.always and kids.add_general["zh"] and kids.refusal["en"] != con.refusal["en"]
    code = con.scenario("code_assistant")
    assert "EM.social_ethics" in code.drop and "CS.hacker_attack" in code.override
    assert con.scenario("medical_information").override["IS.medicine"].answer["en"]


def test_user_file_by_path(tmp_path: Path) -> None:
    p = tmp_path / "mine.yaml"
    p.write_text(MINIMAL, encoding="utf-8")
    con = load_constitution(str(p))
    assert con.name == "mine" and con.general["zh"] == ["Be safe."]
    assert con.scenario("strict").always == ("PM",) and con.scenario("strict").threshold == 0.2
    assert "general" in con.scenarios  # implied


def test_content_hash_changes_with_content(tmp_path: Path) -> None:
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text(MINIMAL, encoding="utf-8")
    b.write_text(MINIMAL.replace("No drug recipes.", "No drug synthesis."), encoding="utf-8")
    assert load_constitution(str(a)).content_hash != load_constitution(str(b)).content_hash


@pytest.mark.parametrize(("bad", "needles"), [
    (MINIMAL.replace("CI.drug_crimes:", "CI.drugs:"), ["categories.CI.drugs", "unknown category id", "CI.drug_crimes"]),
    (MINIMAL.replace('refusal: "No."\n', ""), ["'refusal'", "required"]),
    (MINIMAL.replace("threshold: 0.2", "threshold: 3"), ["scenarios.strict.threshold", "(0, 1]"]),
    (MINIMAL.replace("always: [PM]", "always: [XX]"), ["scenarios.strict.always[0]", "valid dimensions: CI"]),
    (MINIMAL + "colour: red\n", ["unknown top-level key", "colour"]),
    (MINIMAL.replace('refuse: "No drug recipes."', "reject: x"), ["categories.CI.drug_crimes", "refuse, answer"]),
    (MINIMAL.replace('general: ["Be safe."]', "general: {fr: [x]}"), ["'general'", "unknown language"]),
    (MINIMAL.replace('name: mine', "name: [a"), ["not valid YAML", "line"]),
])
def test_schema_errors_name_file_and_field(tmp_path: Path, bad: str, needles: list[str]) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text(bad, encoding="utf-8")
    with pytest.raises(SevalError) as err:
        load_constitution(str(p))
    msg = str(err.value)
    assert "\n" not in msg and str(p) in msg
    for n in needles:
        assert n in msg, msg


def test_unknown_names() -> None:
    with pytest.raises(SevalError, match="unknown constitution 'nope'; built in: default"):
        load_constitution("nope")
    with pytest.raises(SevalError, match="constitution file not found"):
        load_constitution("./missing.yaml")
    with pytest.raises(SevalError, match="no scenario 'pirate'; valid: children_education"):
        load_constitution("default").scenario("pirate")
