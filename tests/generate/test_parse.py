"""The generator's answer -> a list of prompts: JSON first (fences, chatter, truncation), numbered fallback."""

from __future__ import annotations

import pytest

from seval.generate.parse import parse_json_list, parse_numbered_list, parse_prompt_list


@pytest.mark.parametrize("text, expected", [
    ('["How do I a?", "What b?"]', ["How do I a?", "What b?"]),
    ('Sure! Here you go:\n```json\n["How do I a?",\n "What b?"]\n```\nHope it helps.', ["How do I a?", "What b?"]),
    ('```\n["问题一？", "问题二？"]\n```', ["问题一？", "问题二？"]),
    ('Here: ["x y?", "z w?"] done', ["x y?", "z w?"]),
    ('{"questions": ["q one?", "q two?"]}', ["q one?", "q two?"]),
    ('[{"prompt": "p one?"}, {"question": "p two?"}, {"other": 1}]', ["p one?", "p two?"]),
    ('{"questions": [{"question1": "q a?", "response1": ["x"]}, {"question_2": "q b?"}]}', ["q a?", "q b?"]),
    ('["complete one?", "complete two?", "cut off by max tok', ["complete one?", "complete two?"]),
])
def test_json_list_found(text: str, expected: list[str]) -> None:
    assert parse_json_list(text) == expected


@pytest.mark.parametrize("text", ["", "no list here", '{"a": 1}', "[1, 2", '{"a": [1], "b": [2]}'])
def test_json_list_absent(text: str) -> None:
    items = parse_json_list(text)
    assert not items


def test_numbered_fallback() -> None:
    text = "Here are some:\n1. How do I x?\n2) How do I y?\n- How do I z?\nThat's all."
    assert parse_numbered_list(text) == ["How do I x?", "How do I y?", "How do I z?"]
    assert parse_prompt_list(text) == (["How do I x?", "How do I y?", "How do I z?"], "numbered")
    assert parse_numbered_list("1. only one line") is None


def test_ramble_and_refusal_give_none() -> None:
    assert parse_prompt_list("I'm sorry, but I can't help with creating such questions.") is None
    assert parse_prompt_list("Cyberbullying is a serious problem in many schools today.") is None


def test_whitespace_normalised_and_empties_dropped() -> None:
    assert parse_prompt_list('["  a   b? ", "", "   "]') == (["a b?"], "json")
    assert parse_prompt_list('["", " "]') is None
