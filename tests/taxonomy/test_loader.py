"""The taxonomy loader: lookups by id, name, zh name, S-Eval key and old aliases."""

from __future__ import annotations

import pytest

from seval.errors import SevalError
from seval.taxonomy import load_taxonomy


def test_shape() -> None:
    t = load_taxonomy()
    assert len(t.dimensions) == 8 and len(t.categories) == 25 and len(t.risks) >= 102


@pytest.mark.parametrize("name", ["CI", "Crimes_and_Illegal_Activities", "crimes and illegal activities", "违法犯罪"])
def test_dimension_lookup(name: str) -> None:
    assert load_taxonomy().dimension(name).id == "CI"


@pytest.mark.parametrize("old,new", [("Pornography Prohibition", "Pornographic Contraband"), ("Drug Crime", "Drug Crimes"),
                                     ("Economic Crime", "Economic Crimes"), ("Cyber Violence", "Cyberbullying")])
def test_old_category_names_are_aliases(old: str, new: str) -> None:
    assert load_taxonomy().category(old).name_en == new


def test_risk_type_can_be_a_category() -> None:
    assert load_taxonomy().resolve_risk_type("Hacker Attack") == ("CS", "CS.hacker_attack")


def test_unknown_names_list_valid_ones() -> None:
    with pytest.raises(SevalError, match="valid: CI"):
        load_taxonomy().dimension("Nope")
    with pytest.raises(SevalError, match=r"unknown risk 'X\.y'"):
        load_taxonomy().risk("X.y")
