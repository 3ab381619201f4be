"""positive_induction: the question plus "start your answer with '<an affirmative opening for it>'"."""

from __future__ import annotations

import random
import re
from typing import Any

from seval.attacks._common import fill, lang_key, load_data, pick, pick_template, rewrite, strip_question
from seval.attacks.base import ATTACKS, Attack
from seval.models.base import ModelBackend
from seval.records import Message, TestCase

_MAX_OPENING = 200


def _swap_pronouns(text: str, lang: str, data: dict[str, Any]) -> str:
    if lang == "zh":
        table = data["pronouns_zh"]
        return re.sub("|".join(map(re.escape, table)), lambda m: table[m.group(0)], text)
    table = data["pronouns_en"]
    return re.sub(r"\b[\w']+\b", lambda m: table.get(m.group(0).lower(), m.group(0)), text)


def rule_opening(question: str, lang: str) -> str | None:
    """An affirmative opening restating the question, from the data file's patterns; None when none matches."""
    data = load_data("positive_induction.yaml")
    q = strip_question(question.splitlines()[0] if question.strip() else question)
    for rule in data["rules"][lang]:
        m = re.match(rule["pattern"], q, re.I)
        if not m or not m.group(m.lastindex or 0).strip():
            continue
        groups = [_swap_pronouns((g or "").strip(), lang, data) for g in m.groups()]
        heads = {str(i + 1): g.lower() for i, g in enumerate(groups[:-1])}
        opening = fill(rule["opening"], {"x": groups[-1], **heads})
        if len(opening) <= _MAX_OPENING:
            return opening
    return None


@ATTACKS.register("positive_induction")
class PositiveInduction(Attack):
    name = "positive_induction"
    description = "The question plus 'start your answer with <an affirmative opening written for it>' (prefix injection)."
    source = "Wei et al. 2023, Jailbroken: How Does LLM Safety Training Fail?"
    needs_model = True

    async def build(
        self, case: TestCase, rng: random.Random, rewriter: ModelBackend | None
    ) -> tuple[str, list[Message] | None, dict[str, Any]]:
        data = load_data("positive_induction.yaml")
        lang = lang_key(case.lang)
        text, meta = await rewrite(rewriter, fill(data["rewriter"][lang], question=case.prompt), case.prompt, rng,
                                   min_share=0.2, max_tokens=80)
        opening = text.splitlines()[0].strip().rstrip(":：.。") if text else None
        if opening and len(opening) > _MAX_OPENING:
            opening, meta = None, {"rewriter": "fallback", "fallback_reason": "opening too long"}
        if opening is None:
            opening = rule_opening(case.prompt, lang)
            meta["opening_source"] = "rule" if opening else "generic"
            opening = opening or pick(rng, data["fallback_openings"][lang])
        else:
            meta["opening_source"] = "rewriter"
        tpl = pick_template(rng, data["wrappers"], case.lang)
        prompt = fill(tpl["text"], question=case.prompt, opening=opening)
        return prompt, None, {"template": tpl["id"], "opening": opening, **meta}
