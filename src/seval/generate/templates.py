"""Generation requests: a framing filled with a risk's scope, a persona, a scenario, a question type and
few-shot examples from the starter set, all drawn from a seeded RNG so that a request can be rebuilt."""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from seval.errors import SevalError
from seval.records import Message, TestCase
from seval.taxonomy import Risk, Taxonomy
from seval.templating import fill


@cache
def load_templates(path: str | None = None) -> dict[str, Any]:
    """The generation templates (packaged data/templates.yaml, or a user's file with the same schema)."""
    import yaml

    if path is None:
        text = resources.files("seval.generate").joinpath("data/templates.yaml").read_text(encoding="utf-8")
    else:
        text = Path(path).read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    for lang, block in data.items():
        for key in ("framings", "personas", "scenarios", "question_types", "translation", "examples_header"):
            if key not in block:
                raise SevalError(f"generation templates for {lang!r} lack `{key}`")
    return data


def template_langs() -> list[str]:
    return sorted(load_templates())


@cache
def starter_cases() -> tuple[TestCase, ...]:
    """The packaged starter benchmark (few-shot pool); empty when it is not there."""
    from seval.io import read_cases

    res = resources.files("seval.data").joinpath("starter/starter.jsonl")
    try:
        with resources.as_file(res) as p:
            return tuple(read_cases(p)) if Path(p).is_file() else ()
    except (FileNotFoundError, SevalError):
        return ()


def few_shot(risk: Risk, lang: str, k: int, rng: random.Random,
             pool: tuple[TestCase, ...] | None = None) -> list[TestCase]:
    """Up to k base prompts of this language: the risk's own first, topped up from its category, seeded."""
    pool = starter_cases() if pool is None else pool
    same_lang = [c for c in pool if c.lang == lang and c.attack is None]
    own = [c for c in same_lang if c.risk == risk.id]
    cat = [c for c in same_lang if c.category == risk.category and c.risk != risk.id]
    picked = rng.sample(own, min(k, len(own)))
    if len(picked) < k and cat:
        picked += rng.sample(cat, min(k - len(picked), len(cat)))
    return picked


@dataclass(slots=True)
class GenRequest:
    """One call to the generator: the chat to send and what it was built from (the provenance)."""

    risk: Risk
    lang: str
    n: int
    job: int
    attempt: int
    messages: list[Message]
    provenance: dict[str, Any] = field(default_factory=dict)


def build_request(tax: Taxonomy, risk: Risk, lang: str, n: int, seed: int, job: int, attempt: int,
                  k_shots: int = 3, pool: tuple[TestCase, ...] | None = None) -> GenRequest:
    """The request for job `job` of (risk, lang): the same seed and job give the same persona, question type and
    examples on every attempt; the attempt picks the framing (the next one after a refusal or a ramble)."""
    tpl = load_templates()
    if lang not in tpl:
        raise SevalError(f"no generation templates for language {lang!r}; available: {', '.join(sorted(tpl))}")
    block = tpl[lang]
    rng = random.Random(f"{seed}|{risk.id}|{lang}|{job}")
    persona = rng.choice(block["personas"])
    scenario = rng.choice(block["scenarios"])
    qtype = rng.choice(block["question_types"])
    shots = few_shot(risk, lang, k_shots, rng, pool)
    framing = block["framings"][attempt % len(block["framings"])]
    cat = tax.category(risk.category)
    dim = tax.dimension(risk.dimension)
    zh = lang == "zh"
    examples = json.dumps([s.prompt for s in shots], ensure_ascii=False)
    numbered = "\n".join(f"{i}. {s.prompt}" for i, s in enumerate(shots, 1)) + f"\n{len(shots) + 1}."
    scope = (risk.scope_zh or risk.scope) if zh else (risk.scope or risk.scope_zh)
    fields = {
        "n": n,
        "risk_name": risk.name_zh if zh else risk.name_en,
        "category_name": cat.name_zh if zh else cat.name_en,
        "dimension_name": dim.name_zh if zh else dim.name_en,
        "scope": scope,
        "scope_short": re.split(r"(?<=[.。!?！？])\s*", scope.strip(), maxsplit=1)[0].rstrip(".。"),
        "persona": persona,
        "scenario": scenario,
        "question_type": qtype["name"],
        "question_hint": qtype["hint"],
        "examples_block": f"{block['examples_header']}\n{examples}" if shots else "",
        "examples_numbered": numbered.lstrip("\n"),
    }
    try:
        user = fill(framing["user"], fields, strict=True)
    except SevalError as exc:
        raise SevalError(f"template {framing['id']}: {exc}") from None
    messages: list[Message] = [{"role": "system", "content": framing["system"].strip()},
                               {"role": "user", "content": user.replace("\n\n\n", "\n\n")}]
    prov = {"template": framing["id"], "persona": persona, "scenario": scenario, "question_type": qtype["id"],
            "seed": seed, "job": job, "attempt": attempt, "few_shot": [s.id for s in shots]}
    if framing.get("continues_list"):
        prov["continues_at"] = len(shots) + 1
    return GenRequest(risk, lang, n, job, attempt, messages, prov)


def translation_messages(text: str, target: str) -> list[Message]:
    """The chat that asks the generator to translate `text` into `target`."""
    tpl = load_templates()
    if target not in tpl:
        raise SevalError(f"no translation template into {target!r}; available: {', '.join(sorted(tpl))}")
    t = tpl[target]["translation"]
    return [{"role": "system", "content": t["system"].strip()},
            {"role": "user", "content": fill(t["user"], text=text)}]
