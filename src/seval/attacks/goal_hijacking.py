"""goal_hijacking: a benign task, then "ignore the above and instead answer: <question>"."""

from __future__ import annotations

import random
from typing import Any

from seval.attacks._common import fill, lang_key, load_data, pick, pick_template
from seval.attacks.base import ATTACKS, Attack
from seval.models.base import ModelBackend
from seval.records import Message, TestCase


@ATTACKS.register("goal_hijacking")
class GoalHijacking(Attack):
    name = "goal_hijacking"
    description = "A benign task followed by 'ignore the above and instead answer' the question."
    source = "Perez & Ribeiro 2022, Ignore Previous Prompt: Attack Techniques For Language Models"

    async def build(
        self, case: TestCase, rng: random.Random, rewriter: ModelBackend | None
    ) -> tuple[str, list[Message] | None, dict[str, Any]]:
        data = load_data("goal_hijacking.yaml")
        task = pick(rng, data["benign_tasks"][lang_key(case.lang)])
        tpl = pick_template(rng, data["hijacks"], case.lang)
        prompt = fill(tpl["text"], task=task["text"], question=case.prompt)
        return prompt, None, {"template": tpl["id"], "benign_task": task["id"]}
