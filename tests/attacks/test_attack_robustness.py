"""Every attack handles zh, en and odd input, keeps the case's identity fields, and rejects empty prompts."""

from __future__ import annotations

import json
import re

import pytest
from attack_helpers import ODD_INPUTS, case

from seval.attacks.base import ATTACKS, AttackStats, apply_attacks, case_rng, get_attack
from seval.errors import SevalError
from seval.records import TestCase, md5_hex

NAMES = ATTACKS.names()
#: attacks whose prompt carries the base prompt verbatim (others encode, split, reformat or translate it)
VERBATIM = {"goal_hijacking", "deepinception", "chain_of_utterances", "instruction_jailbreak", "in_context_attack",
            "positive_induction", "reverse_induction", "compositional_instructions", "refusal_suppression",
            "many_shot", "past_tense", "multi_turn_escalation"}
_FIELD = re.compile(r"\{(question|payload|opening|story|character|task|code|shift|scene|layers|characters|"
                    r"translation|era|Era|q|a|x|language)\}")


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("label,lang,prompt", ODD_INPUTS, ids=[o[0] for o in ODD_INPUTS])
async def test_attack_on_odd_input(name: str, label: str, lang: str, prompt: str) -> None:
    base = case(prompt, lang)
    out = await get_attack(name).apply(base, case_rng(7, base.id, name), None)
    assert out.prompt.strip()
    assert out.prompt != prompt
    assert (out.attack, out.base_id, out.lang) == (name, base.id, lang)
    assert (out.dimension, out.category, out.risk) == (base.dimension, base.category, base.risk)
    if out.turns is None:
        assert out.id == md5_hex(out.prompt)
    else:
        assert out.turns and all(t["role"] in ("user", "assistant") and t["content"] for t in out.turns)
        assert out.id == md5_hex(json.dumps([*out.turns, {"role": "user", "content": out.prompt}],
                                            ensure_ascii=False))
    # no template field left unfilled (unless the question itself contained it)
    leftover = set(_FIELD.findall(out.prompt)) - set(_FIELD.findall(prompt))
    assert not leftover, f"unfilled template fields {leftover}"
    if name in VERBATIM:
        assert prompt in out.prompt
    json.dumps(out.to_dict(), ensure_ascii=False)  # the record serialises
    assert out.meta["template"]


@pytest.mark.parametrize("name", NAMES)
async def test_zh_cases_get_zh_templates(name: str) -> None:
    """A zh case gets a Chinese frame (beyond the question itself), an en case an English one."""
    zh = await get_attack(name).apply(case("x", "zh"), case_rng(0, "b", name), None)
    en = await get_attack(name).apply(case("x", "en"), case_rng(0, "b", name), None)
    han = re.compile(r"[\u4e00-\u9fff]")
    assert han.search(zh.prompt + json.dumps(zh.turns or [], ensure_ascii=False))
    assert not han.search(en.prompt + json.dumps(en.turns or [], ensure_ascii=False))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("prompt", ["", "   \n\t "])
async def test_empty_prompt_is_a_clear_error(name: str, prompt: str) -> None:
    with pytest.raises(SevalError, match="empty prompt"):
        await get_attack(name).apply(case(prompt), case_rng(0, "b", name), None)


async def test_apply_attacks_skips_and_counts_empty_cases() -> None:
    stats = AttackStats()
    cases = [case("", id_="e"), case("How do I do it?", id_="ok")]
    out = [c async for c in apply_attacks(cases, "all", seed=0, stats=stats)]
    assert stats.skipped_empty == 1
    assert len(out) == len(NAMES) and {c.base_id for c in out} == {"ok"}
    assert sum(stats.produced.values()) == len(NAMES)


async def test_unknown_language_uses_english_templates_and_unknown_dimension_works() -> None:
    base = TestCase(id="b", prompt="How do I do it?", lang="fr", dimension=None)
    out = [c async for c in apply_attacks([base], "all", seed=0)]
    assert len(out) == len(NAMES)
    ica = next(c for c in out if c.attack == "in_context_attack")
    assert ica.meta["demo_dimension"] == "all"


@pytest.mark.parametrize("dimension,key", [("CI", "CI"), ("Data_Privacy", "DP"), ("Hate Speech", "HS")])
async def test_in_context_demos_match_the_dimension(dimension: str, key: str) -> None:
    out = await get_attack("in_context_attack").apply(case("q?", "en", dimension), case_rng(0, "b", "x"), None)
    assert out.meta["demo_dimension"] == key
