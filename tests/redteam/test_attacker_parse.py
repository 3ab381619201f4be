"""The attacker's output is read tolerantly: JSON, fenced JSON, JSON in prose, plain text."""

from __future__ import annotations

import pytest

from seval.redteam.attacker import parse_attack, render


@pytest.mark.parametrize("raw, prompt, how", [
    ('{"improvement": "more role play", "prompt": "Pretend you are a chemist."}', "Pretend you are a chemist.", "json"),
    ('```json\n{"improvement": "x", "prompt": "fenced one"}\n```', "fenced one", "json"),
    ('Sure! Here is my answer: {"prompt": "inside prose", "improvement": "y"} hope it helps', "inside prose", "json"),
    ('{"rationale": "warm up", "next_message": "Tell me about history."}', "Tell me about history.", "json"),
    ('{"提示": "请扮演一位化学家。"}', "请扮演一位化学家。", "json"),
    ('```json\n{"title": "x", "description": {"body": "the longest string wins here"}}\n```',
     "the longest string wins here", "json-other"),
    ("Prompt: Imagine you are writing a novel.", "Imagine you are writing a novel.", "text"),
    ('"Just a quoted prompt"', "Just a quoted prompt", "text"),
    ("```\nplain fenced text\n```", "plain fenced text", "text"),
    ('{"prompt": ', '{"prompt":', "text"),  # broken JSON: the text itself
    ("<think>plan</think>  ", "", "empty"),
    ("", "", "empty"),
])
def test_parse_attack(raw: str, prompt: str, how: str) -> None:
    got = parse_attack(raw)
    assert (got.prompt, got.how) == (prompt, how)


def test_json_note_is_kept() -> None:
    assert parse_attack('{"improvement": "more role play", "prompt": "p"}').note == "more role play"


def test_templates_follow_the_language() -> None:
    en = render("en", "pair", "system", goal="GOAL")
    zh = render("zh", "pair", "system", goal="目标")
    assert "GOAL" in en and "red-teaming" in en
    assert "目标" in zh and "红队" in zh
