"""multi_turn_escalation (extension): a Crescendo-style chat that escalates from background to the question."""

from __future__ import annotations

import random
from typing import Any

from seval.attacks._common import fill, load_data, pick_template
from seval.attacks.base import ATTACKS, Attack
from seval.models.base import ModelBackend
from seval.records import Message, TestCase


@ATTACKS.register("multi_turn_escalation")
class MultiTurnEscalation(Attack):
    name = "multi_turn_escalation"
    description = "Crescendo-style chat (fabricated, harmless earlier turns) escalating to the question in the last turn."
    source = "Russinovich et al. 2024, Great, Now Write an Article About That: The Crescendo Multi-Turn LLM Jailbreak Attack"
    extension = True

    async def build(
        self, case: TestCase, rng: random.Random, rewriter: ModelBackend | None
    ) -> tuple[str, list[Message] | None, dict[str, Any]]:
        script = pick_template(rng, load_data("multi_turn_escalation.yaml")["scripts"], case.lang)
        turns: list[Message] = [{"role": t["role"], "content": fill(t["content"], question=case.prompt)}
                                for t in script["turns"]]
        return fill(script["final"], question=case.prompt), turns, {"template": script["id"], "turns": len(turns)}
