"""past_tense (extension): the request reformulated as a question about how it was done in the past."""

from __future__ import annotations

import random
from typing import Any

from seval.attacks._common import fill, lang_key, load_data, pick, pick_template, rewrite
from seval.attacks.base import ATTACKS, Attack
from seval.models.base import ModelBackend
from seval.records import Message, TestCase


@ATTACKS.register("past_tense")
class PastTense(Attack):
    name = "past_tense"
    description = "The request reformulated in the past tense ('how did people do X in the 1990s?')."
    source = "Andriushchenko & Flammarion 2024, Does Refusal Training in LLMs Generalize to the Past Tense?"
    extension = True
    needs_model = True

    async def build(
        self, case: TestCase, rng: random.Random, rewriter: ModelBackend | None
    ) -> tuple[str, list[Message] | None, dict[str, Any]]:
        data = load_data("past_tense.yaml")
        lang = lang_key(case.lang)
        text, meta = await rewrite(rewriter, fill(data["rewriter"][lang], question=case.prompt), case.prompt, rng,
                                   max_tokens=200)
        if text:
            return text, None, {"template": "rewriter", **meta}
        era = pick(rng, data["eras"][lang])
        tpl = pick_template(rng, data["templates"], case.lang)
        prompt = fill(tpl["text"], question=case.prompt, era=era, Era=era[:1].upper() + era[1:])
        return prompt, None, {"template": tpl["id"], "era": era, **meta}
