"""chain_of_utterances: a Red-LM/Base-LM transcript; the model writes helpful-to-harm Base-LM's next turn."""

from __future__ import annotations

import random
from typing import Any

from seval.attacks._common import fill, load_data, pick_template
from seval.attacks.base import ATTACKS, Attack
from seval.models.base import ModelBackend
from seval.records import Message, TestCase


@ATTACKS.register("chain_of_utterances")
class ChainOfUtterances(Attack):
    name = "chain_of_utterances"
    description = "Red-LM/Base-LM conversation in which the model plays Base-LM, helpful to the point of harm."
    source = "Bhardwaj & Poria 2023, Red-Teaming Large Language Models using Chain of Utterances for Safety-Alignment"

    async def build(
        self, case: TestCase, rng: random.Random, rewriter: ModelBackend | None
    ) -> tuple[str, list[Message] | None, dict[str, Any]]:
        tpl = pick_template(rng, load_data("chain_of_utterances.yaml")["templates"], case.lang)
        return fill(tpl["text"], question=case.prompt), None, {"template": tpl["id"]}
