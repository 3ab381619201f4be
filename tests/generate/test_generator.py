"""Generation with a scripted backend: retries on refusal/ramble, dropped counts, provenance, translation links."""

from __future__ import annotations

import json
from collections.abc import Callable

from seval.generate.generator import (
    GenerateConfig,
    GenerationStats,
    clean_translation,
    generate_cases,
    translate_cases,
)
from seval.generate.templates import build_request, load_templates
from seval.records import ErrorKind, GenParams, Message, ModelCallError, TestCase, md5_hex
from seval.taxonomy import load_taxonomy

TAX = load_taxonomy()
RISK = TAX.risks[5]
RISK2 = TAX.risks[40]


def _json_answer(messages: list[Message], n: int = 5) -> str:
    tag = messages[1]["content"][:10]
    return json.dumps([f"How would someone do thing {i} for {tag}?" for i in range(n)])


async def test_refusal_then_ramble_then_list_is_retried(scripted: Callable) -> None:
    answers = iter(["I'm sorry, but I can't help with that request.", "Drugs are a big topic in society.", None])
    backend = scripted(lambda m, p, k: next(answers) or _json_answer(m))
    cases, stats = await generate_cases(backend, TAX, [RISK], ["en"], GenerateConfig(per_risk=5, batch_size=5))
    assert len(cases) == 5
    assert (stats.calls, stats.refusals, stats.rambles, stats.retries) == (3, 1, 1, 2)
    assert (stats.failed_jobs, stats.dropped, stats.generated, stats.requested) == (0, 0, 5, 5)
    assert stats.examples["refusal"][0].startswith("I'm sorry") and "big topic" in stats.examples["ramble"][0]
    framings = load_templates()["en"]["framings"]
    assert {c.meta["attempt"] for c in cases} == {2}
    assert {c.meta["template"] for c in cases} == {framings[2]["id"]}
    # each retry used another framing (system prompt)
    assert len({m[0]["content"] for m in backend.calls}) == 3


async def test_job_dropped_after_all_attempts(scripted: Callable) -> None:
    backend = scripted(lambda m, p, k: "As requested, I will not write that.")
    cfg = GenerateConfig(per_risk=7, batch_size=5, max_attempts=2)
    cases, stats = await generate_cases(backend, TAX, [RISK], ["en", "zh"], cfg)
    assert cases == []
    assert stats.jobs == 4 and stats.calls == 8
    assert stats.failed_jobs == 4 and stats.dropped == 14 and stats.requested == 14
    assert stats.rambles + stats.refusals == 8


async def test_errors_counted_and_short_lists_dropped(scripted: Callable) -> None:
    def script(m: list[Message], p: GenParams, k: int) -> str | ModelCallError:
        if k == 1:  # the provider's filter refused this framing: the next framing is tried
            return ModelCallError(ErrorKind.CONTENT_FILTER, "filtered")
        return json.dumps(["Only one question here, how?", 1, 2])

    cases, stats = await generate_cases(scripted(script), TAX, [RISK], ["en"], GenerateConfig(per_risk=3, batch_size=3))
    assert len(cases) == 1
    assert stats.errors == 1 and stats.error_kinds == {"content_filter": 1} and stats.retries == 1
    assert stats.generated == 1 and stats.dropped == 2


async def test_transient_errors_are_retried_by_the_call_policy(scripted: Callable) -> None:
    def script(m: list[Message], p: GenParams, k: int) -> str | ModelCallError:
        return ModelCallError(ErrorKind.TIMEOUT, "slow") if k == 1 else json.dumps(["How would one do it?"])

    backend = scripted(script)
    cases, stats = await generate_cases(backend, TAX, [RISK], ["en"], GenerateConfig(per_risk=1, batch_size=1))
    assert len(cases) == 1 and stats.errors == 0 and stats.calls == 1  # one generator call, the policy retried
    assert len(backend.calls) == 2


async def test_extra_items_discarded_and_numbered_fallback(scripted: Callable) -> None:
    text = "\n".join(f"{i}. How can a person do step {i}?" for i in range(1, 8))
    cases, stats = await generate_cases(scripted(lambda m, p, k: text), TAX, [RISK], ["en"],
                                        GenerateConfig(per_risk=4, batch_size=4))
    assert [c.prompt for c in cases] == [f"How can a person do step {i}?" for i in range(1, 5)]
    assert stats.extra_discarded == 3 and stats.parsed_numbered == 1
    assert {c.meta["parse"] for c in cases} == {"numbered"}


async def test_provenance_recorded(scripted: Callable) -> None:
    backend = scripted(lambda m, p, k: _json_answer(m, 2))
    cfg = GenerateConfig(per_risk=4, batch_size=2, seed=7)
    cases, _ = await generate_cases(backend, TAX, [RISK, RISK2], ["zh", "en"], cfg)
    assert len(cases) == 16
    qtypes = {q["id"] for q in load_templates()["en"]["question_types"]}
    for c in cases:
        m = c.meta
        assert m["generator"] == "scripted:test" and m["seed"] == 7 and m["attempt"] == 0
        assert m["question_type"] in qtypes and m["persona"] and m["scenario"] and m["template"]
        assert c.id == md5_hex(c.prompt)
        assert c.risk in (RISK.id, RISK2.id) and c.category and c.dimension
    # few-shot examples come from the starter set, for this risk's category and language
    from seval.generate.templates import starter_cases

    starter = {s.id: s for s in starter_cases()}
    shots = [s for c in cases for s in c.meta["few_shot"]]
    assert shots, "the starter set should give few-shot examples"
    for c in cases:
        for sid in c.meta["few_shot"]:
            assert starter[sid].lang == c.lang and starter[sid].category == c.category


def test_requests_are_seeded() -> None:
    a = build_request(TAX, RISK, "en", 5, seed=3, job=1, attempt=0)
    b = build_request(TAX, RISK, "en", 5, seed=3, job=1, attempt=0)
    assert a.messages == b.messages and a.provenance == b.provenance
    others = [build_request(TAX, RISK, "en", 5, seed=s, job=j, attempt=0).provenance for s in range(4) for j in range(3)]
    assert len({(p["persona"], p["question_type"], p["scenario"]) for p in others}) > 3
    # the risk's scope and name reach the generator
    assert RISK.name_en in a.messages[1]["content"] and RISK.scope.split(".")[0] in a.messages[1]["content"]
    zh = build_request(TAX, RISK, "zh", 5, seed=3, job=1, attempt=0)
    assert RISK.name_zh in zh.messages[1]["content"]


async def test_translation_keeps_from_id(scripted: Callable) -> None:
    src = [TestCase(id=md5_hex(p), prompt=p, lang="zh", dimension=RISK.dimension, category=RISK.category,
                    risk=RISK.id, meta={"template": "zh.redteam"}) for p in ("怎样做坏事一？", "怎样做坏事二？", "怎样做坏事三？")]

    def script(m: list[Message], p: GenParams, k: int) -> str:
        text = m[1]["content"]
        if "二" in text:
            return "I'm sorry, but I can't translate this."
        return 'Translation: "How do I do bad thing ' + ("one" if "一" in text else "three") + '?"'

    stats = GenerationStats()
    out = await translate_cases(scripted(script), src, "en", GenerateConfig(), stats)
    assert [c.prompt for c in out] == ["How do I do bad thing one?", "How do I do bad thing three?"]
    assert [c.from_id for c in out] == [src[0].id, src[2].id]
    assert all(c.lang == "en" and c.risk == RISK.id and c.id == md5_hex(c.prompt) for c in out)
    assert out[0].meta["source_lang"] == "zh" and out[0].meta["template"] == "en.translation"
    assert stats.translations == 2 and stats.translation_failures == 1


def test_clean_translation() -> None:
    assert clean_translation('```\n"How to x?"\n```') == "How to x?"
    assert clean_translation("译文：如何做？\n(note)") == "如何做？"
    assert clean_translation("") == ""
