"""deepinception: a nested fiction ("layer i creates layer i+1 ... reach layer 5") that works out the question."""

from __future__ import annotations

import random
from typing import Any

from seval.attacks._common import fill, lang_key, load_data, pick, pick_template
from seval.attacks.base import ATTACKS, Attack
from seval.models.base import ModelBackend
from seval.records import Message, TestCase


@ATTACKS.register("deepinception")
class DeepInception(Attack):
    name = "deepinception"
    description = "Nested fiction of 5 layers whose characters work out the question, summarised at the last layer."
    source = "Li et al. 2023, DeepInception: Hypnotize Large Language Model to Be Jailbreaker"

    async def build(
        self, case: TestCase, rng: random.Random, rewriter: ModelBackend | None
    ) -> tuple[str, list[Message] | None, dict[str, Any]]:
        data = load_data("deepinception.yaml")
        scene = pick(rng, data["scenes"][lang_key(case.lang)])
        characters = str(pick(rng, data["characters"]))
        tpl = pick_template(rng, data["templates"], case.lang)
        prompt = fill(tpl["text"], scene=scene, characters=characters, layers=str(data["layers"]),
                      question=case.prompt)
        return prompt, None, {"template": tpl["id"], "scene": scene, "layers": data["layers"]}
