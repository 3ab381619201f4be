"""refusal_suppression (extension): rules that forbid apologies, disclaimers and refusal words around the question."""

from __future__ import annotations

import random
from typing import Any

from seval.attacks._common import fill, load_data, pick_template
from seval.attacks.base import ATTACKS, Attack
from seval.models.base import ModelBackend
from seval.records import Message, TestCase


@ATTACKS.register("refusal_suppression")
class RefusalSuppression(Attack):
    name = "refusal_suppression"
    description = "Rules forbidding apologies, disclaimers and refusal words, stated before and after the question."
    source = "Wei et al. 2023, Jailbroken: How Does LLM Safety Training Fail?"
    extension = True

    async def build(
        self, case: TestCase, rng: random.Random, rewriter: ModelBackend | None
    ) -> tuple[str, list[Message] | None, dict[str, Any]]:
        tpl = pick_template(rng, load_data("refusal_suppression.yaml")["templates"], case.lang)
        return fill(tpl["text"], question=case.prompt), None, {"template": tpl["id"]}
