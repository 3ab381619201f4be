"""Checks the shipped taxonomy data file on its own (no loader): S-Eval's levels 1-2 and our leaves."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

TAXONOMY_PATH = Path(__file__).resolve().parents[2] / "src/seval/taxonomy/taxonomy.yaml"

# S-Eval's published levels 1 and 2: (abbr, risk_type key, en name, zh name) -> [(category en, zh), ...].
SEVAL_TREE: dict[tuple[str, str, str, str], list[tuple[str, str]]] = {
    ("CI", "Crimes_and_Illegal_Activities", "Crimes and Illegal Activities", "违法犯罪"): [
        ("Pornographic Contraband", "色情违禁"),
        ("Drug Crimes", "毒品犯罪"),
        ("Dangerous Weapons", "危险武器"),
        ("Property Infringement", "财产侵犯"),
        ("Economic Crimes", "经济犯罪"),
    ],
    ("CS", "Cybersecurity", "Cybersecurity", "网络安全"): [
        ("Access Control", "访问控制"),
        ("Hacker Attack", "黑客攻击"),
        ("Malicious Code", "恶意代码"),
        ("Physical Security", "物理安全"),
    ],
    ("DP", "Data_Privacy", "Data Privacy", "数据隐私"): [
        ("Personal Privacy", "个人隐私"),
        ("Commercial Secret", "商业机密"),
    ],
    ("EM", "Ethics_and_Morality", "Ethics and Morality", "伦理道德"): [
        ("Social Ethics", "社会伦理"),
        ("Science Ethics", "科学伦理"),
    ],
    ("PM", "Physical_and_Mental_Health", "Physical and Mental Health", "身心健康"): [
        ("Physical Harm", "身体伤害"),
        ("Mental Health", "心理健康"),
    ],
    ("HS", "Hate_Speech", "Hate Speech", "仇恨言论"): [
        ("Abusive Curses", "辱骂诅咒"),
        ("Cyberbullying", "网络欺凌"),
        ("Defamation", "诽谤"),
        ("Threaten and Intimidate", "威胁恐吓"),
    ],
    ("EX", "Extremism", "Extremism", "极端主义"): [
        ("Violent Terrorist Activities", "暴力恐怖"),
        ("Social Disruption", "社会动乱"),
        ("Extremist Ideological Trends", "极端思潮"),
    ],
    ("IS", "Inappropriate_Suggestions", "Inappropriate Suggestions", "不当建议"): [
        ("Finance", "金融"),
        ("Medicine", "医疗"),
        ("Law", "法律"),
    ],
}

# Category names used by S-Eval's v0.1.1 README, renamed later; they must stay accepted as aliases.
OLD_NAMES = {
    "CI.pornographic_contraband": "Pornography Prohibition",
    "CI.drug_crimes": "Drug Crime",
    "CI.economic_crimes": "Economic Crime",
    "HS.cyberbullying": "Cyber Violence",
}

SLUG = re.compile(r"^[a-z0-9]+(?:_[a-z0-9]+)*$")


def _snake(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


@pytest.fixture(scope="module")
def tax() -> dict[str, Any]:
    with TAXONOMY_PATH.open(encoding="utf-8") as f:
        data = yaml.safe_load(f)
    assert isinstance(data, dict)
    return data


def _categories(tax: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for d in tax["dimensions"] for c in d["categories"]]


def _risks(tax: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for c in _categories(tax) for r in c["risks"]]


def test_version(tax: dict[str, Any]) -> None:
    assert tax["version"] == 1


def test_dimensions_and_categories_match_seval(tax: dict[str, Any]) -> None:
    assert len(tax["dimensions"]) == 8
    assert len(_categories(tax)) == 25
    got = {
        (d["id"], d["key"], d["name_en"], d["name_zh"]): [(c["name_en"], c["name_zh"]) for c in d["categories"]]
        for d in tax["dimensions"]
    }
    assert got == SEVAL_TREE


def test_category_ids_are_dimension_plus_snake_name(tax: dict[str, Any]) -> None:
    for dim in tax["dimensions"]:
        for cat in dim["categories"]:
            assert cat["id"] == f"{dim['id']}.{_snake(cat['name_en'])}"


def test_leaf_counts(tax: dict[str, Any]) -> None:
    assert len(_risks(tax)) >= 102
    for cat in _categories(tax):
        assert len(cat["risks"]) >= 3, cat["id"]


def test_ids_unique_and_well_formed(tax: dict[str, Any]) -> None:
    ids: list[str] = []
    for dim in tax["dimensions"]:
        assert re.fullmatch(r"[A-Z]{2}", dim["id"]), dim["id"]
        ids.append(dim["id"])
        for cat in dim["categories"]:
            prefix, _, slug = cat["id"].partition(".")
            assert prefix == dim["id"] and SLUG.fullmatch(slug), cat["id"]
            ids.append(cat["id"])
            for risk in cat["risks"]:
                parent, _, leaf = risk["id"].rpartition(".")
                assert parent == cat["id"] and SLUG.fullmatch(leaf), risk["id"]
                ids.append(risk["id"])
    dupes = [i for i, n in Counter(ids).items() if n > 1]
    assert not dupes


def test_every_node_has_names(tax: dict[str, Any]) -> None:
    nodes = list(tax["dimensions"]) + _categories(tax) + _risks(tax)
    for node in nodes:
        for field in ("name_en", "name_zh"):
            assert isinstance(node.get(field), str) and node[field].strip(), (node.get("id"), field)
        assert re.search(r"[\u4e00-\u9fff]", node["name_zh"]), node["id"]


def test_every_leaf_has_scopes(tax: dict[str, Any]) -> None:
    for risk in _risks(tax):
        for field in ("scope", "scope_zh"):
            assert isinstance(risk.get(field), str) and len(risk[field].strip()) >= 20, (risk["id"], field)
        assert re.search(r"[\u4e00-\u9fff]", risk["scope_zh"]), risk["id"]


def test_leaf_names_distinct_within_category(tax: dict[str, Any]) -> None:
    for cat in _categories(tax):
        for field in ("name_en", "name_zh"):
            names = [r[field] for r in cat["risks"]]
            assert len(set(names)) == len(names), (cat["id"], field)


def test_old_seval_names_are_aliases(tax: dict[str, Any]) -> None:
    by_id = {c["id"]: c for c in _categories(tax)}
    for cat_id, old in OLD_NAMES.items():
        assert old in by_id[cat_id]["aliases"], cat_id


def test_aliases_do_not_collide(tax: dict[str, Any]) -> None:
    """A name or alias must point to one category only, case-insensitively."""
    owner: dict[str, str] = {}
    for cat in _categories(tax):
        assert isinstance(cat["aliases"], list)
        for name in [cat["name_en"], cat["name_zh"], *cat["aliases"]]:
            assert isinstance(name, str) and name.strip(), cat["id"]
            key = name.casefold()
            assert owner.setdefault(key, cat["id"]) == cat["id"], (name, owner[key], cat["id"])
