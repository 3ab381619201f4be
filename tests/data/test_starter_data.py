"""Checks the shipped starter benchmark against the taxonomy data file (no loader needed)."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

SRC = Path(__file__).resolve().parents[2] / "src/seval"
STARTER_PATH = SRC / "data/starter/starter.jsonl"
TAXONOMY_PATH = SRC / "taxonomy/taxonomy.yaml"
FIELDS = {"id", "prompt", "lang", "dimension", "category", "risk", "from_id"}


@pytest.fixture(scope="module")
def rows() -> list[dict[str, Any]]:
    out = []
    with STARTER_PATH.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            assert line.strip(), f"blank line {n}"
            out.append(json.loads(line))
    return out


@pytest.fixture(scope="module")
def leaves() -> dict[str, tuple[str, str]]:
    """Leaf id -> (dimension id, category id)."""
    with TAXONOMY_PATH.open(encoding="utf-8") as f:
        tax = yaml.safe_load(f)
    return {
        r["id"]: (d["id"], c["id"]) for d in tax["dimensions"] for c in d["categories"] for r in c["risks"]
    }


def test_rows_have_exact_fields(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        assert set(row) == FIELDS, row.get("id")
        assert row["lang"] in ("zh", "en")
        assert isinstance(row["prompt"], str) and row["prompt"].strip() == row["prompt"] and row["prompt"]


def test_risk_matches_taxonomy(rows: list[dict[str, Any]], leaves: dict[str, tuple[str, str]]) -> None:
    for row in rows:
        assert row["risk"] in leaves, row["risk"]
        assert leaves[row["risk"]] == (row["dimension"], row["category"]), row["id"]


def test_id_is_md5_of_prompt(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        assert row["id"] == hashlib.md5(row["prompt"].encode("utf-8")).hexdigest(), row["prompt"][:40]


def test_at_least_five_per_category_per_language(
    rows: list[dict[str, Any]], leaves: dict[str, tuple[str, str]]
) -> None:
    counts = Counter((row["category"], row["lang"]) for row in rows)
    categories = {cat for _, cat in leaves.values()}
    assert len(categories) == 25
    for cat in categories:
        for lang in ("zh", "en"):
            assert counts[(cat, lang)] >= 5, (cat, lang, counts[(cat, lang)])


def test_en_rows_translate_a_zh_row(rows: list[dict[str, Any]]) -> None:
    zh = {row["id"]: row for row in rows if row["lang"] == "zh"}
    linked = Counter()
    for row in rows:
        if row["lang"] == "zh":
            assert row["from_id"] is None, row["id"]
            continue
        assert row["from_id"] in zh, row["id"]
        assert zh[row["from_id"]]["risk"] == row["risk"], row["id"]
        assert not any("\u4e00" <= ch <= "\u9fff" for ch in row["prompt"]), row["id"]
        linked[row["from_id"]] += 1
    assert all(n == 1 for n in linked.values())


def test_no_duplicate_prompts(rows: list[dict[str, Any]]) -> None:
    prompts = Counter(row["prompt"].casefold() for row in rows)
    assert [p for p, n in prompts.items() if n > 1] == []
    ids = Counter(row["id"] for row in rows)
    assert [i for i, n in ids.items() if n > 1] == []
