"""many_shot (extension): dozens of fabricated compliant exchanges (fake, redacted answers), then the question."""

from __future__ import annotations

import random
from typing import Any

from seval.attacks._common import load_data, pick, pick_template
from seval.attacks.base import ATTACKS, Attack
from seval.attacks.in_context_attack import demos_for, render_dialogue
from seval.models.base import ModelBackend
from seval.records import Message, TestCase


@ATTACKS.register("many_shot")
class ManyShot(Attack):
    name = "many_shot"
    description = "16-32 fabricated compliant exchanges across all risk dimensions (fake answers), then the question."
    source = "Anil et al. 2024, Many-shot Jailbreaking"
    extension = True

    async def build(
        self, case: TestCase, rng: random.Random, rewriter: ModelBackend | None
    ) -> tuple[str, list[Message] | None, dict[str, Any]]:
        shots = pick(rng, load_data("many_shot.yaml")["shots"])
        demos, _ = demos_for(case, rng, shots, pool_all=True)
        fmt = pick_template(rng, load_data("in_context_attack.yaml")["formats"], case.lang)
        return render_dialogue(demos, case.prompt, fmt), None, {"template": fmt["id"], "shots": len(demos)}
