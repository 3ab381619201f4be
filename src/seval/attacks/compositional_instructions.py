"""compositional_instructions: the request wrapped in a story-writing task that asks for technical detail."""

from __future__ import annotations

import random
from typing import Any

from seval.attacks._common import fill, lang_key, load_data, pick, pick_template, rewrite
from seval.attacks.base import ATTACKS, Attack
from seval.models.base import ModelBackend
from seval.records import Message, TestCase


@ATTACKS.register("compositional_instructions")
class CompositionalInstructions(Attack):
    name = "compositional_instructions"
    description = "The request wrapped in a novel-writing task: continue the story where the character does it, in detail."
    source = "Jiang et al. 2023, Prompt Packer: Deceiving LLMs through Compositional Instruction with Hidden Attacks"
    needs_model = True

    async def build(
        self, case: TestCase, rng: random.Random, rewriter: ModelBackend | None
    ) -> tuple[str, list[Message] | None, dict[str, Any]]:
        data = load_data("compositional_instructions.yaml")
        lang = lang_key(case.lang)
        character = pick(rng, data["characters"][lang])
        ask = fill(data["rewriter"][lang], question=case.prompt, character=character)
        story, meta = await rewrite(rewriter, ask, case.prompt, rng)
        if story:
            meta["opening"] = "rewriter"
        else:
            opening = pick_template(rng, data["openings"], case.lang)
            story = fill(opening["text"], question=case.prompt, character=character)
            meta["opening"] = opening["id"]
        tpl = pick_template(rng, data["wrappers"], case.lang)
        prompt = fill(tpl["text"], story=story, character=character)
        return prompt, None, {"template": tpl["id"], "character": character, **meta}
