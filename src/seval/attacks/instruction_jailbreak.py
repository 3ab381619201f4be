"""instruction_jailbreak: an in-the-wild-style role-play jailbreak template with the question inserted."""

from __future__ import annotations

import random
from typing import Any

from seval.attacks._common import fill, load_data, pick_template
from seval.attacks.base import ATTACKS, Attack
from seval.models.base import ModelBackend
from seval.records import Message, TestCase


@ATTACKS.register("instruction_jailbreak")
class InstructionJailbreak(Attack):
    name = "instruction_jailbreak"
    description = "Role-play jailbreak template (DAN-style, developer mode, two-AI dialogue, evil confidant...)."
    source = ("Shen et al. 2023, \"Do Anything Now\": Characterizing and Evaluating In-The-Wild Jailbreak Prompts; "
              "Liu et al. 2023, Jailbreaking ChatGPT via Prompt Engineering: An Empirical Study")

    async def build(
        self, case: TestCase, rng: random.Random, rewriter: ModelBackend | None
    ) -> tuple[str, list[Message] | None, dict[str, Any]]:
        tpl = pick_template(rng, load_data("jailbreak_templates.yaml")["templates"], case.lang)
        return fill(tpl["text"], question=case.prompt), None, {"template": tpl["id"], "style": tpl["style"]}
