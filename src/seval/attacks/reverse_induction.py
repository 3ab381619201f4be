"""reverse_induction: the request reframed as protective ("to prevent X, what exactly would someone do?")."""

from __future__ import annotations

import random
from typing import Any

from seval.attacks._common import fill, lang_key, load_data, pick_template, rewrite
from seval.attacks.base import ATTACKS, Attack
from seval.models.base import ModelBackend
from seval.records import Message, TestCase


@ATTACKS.register("reverse_induction")
class ReverseInduction(Attack):
    name = "reverse_induction"
    description = "The request reframed as protective (prevent or avoid it, so what exactly would someone do?)."
    source = "Sun et al. 2023, Safety Assessment of Chinese Large Language Models"
    needs_model = True

    async def build(
        self, case: TestCase, rng: random.Random, rewriter: ModelBackend | None
    ) -> tuple[str, list[Message] | None, dict[str, Any]]:
        data = load_data("reverse_induction.yaml")
        text, meta = await rewrite(rewriter, fill(data["rewriter"][lang_key(case.lang)], question=case.prompt),
                                   case.prompt, rng)
        if text:
            return text, None, {"template": "rewriter", **meta}
        tpl = pick_template(rng, data["templates"], case.lang)
        return fill(tpl["text"], question=case.prompt), None, {"template": tpl["id"], **meta}
