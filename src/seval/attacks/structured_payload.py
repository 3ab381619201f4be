"""structured_payload (extension): the question inside a Markdown table or a JSON object to complete."""

from __future__ import annotations

import json
import random
from typing import Any

from seval.attacks._common import fill, load_data, pick, pick_template
from seval.attacks.base import ATTACKS, Attack
from seval.models.base import ModelBackend
from seval.records import Message, TestCase


def _insert(node: Any, question: str) -> Any:
    """The JSON skeleton with the "{question}" leaf replaced by the question."""
    if isinstance(node, dict):
        return {k: _insert(v, question) for k, v in node.items()}
    if isinstance(node, list):
        return [_insert(v, question) for v in node]
    return question if node == "{question}" else node


def table_cell(text: str) -> str:
    """Text made safe for one Markdown table cell: one line, pipes escaped."""
    return " ".join(text.split()).replace("|", "\\|")


@ATTACKS.register("structured_payload")
class StructuredPayload(Attack):
    name = "structured_payload"
    description = "The question placed in a Markdown table or a JSON object that the model must fill in."
    source = "Ding et al. 2024, A Wolf in Sheep's Clothing: Generalized Nested Jailbreak Prompts can Fool LLMs Easily (ReNeLLM)"
    extension = True

    async def build(
        self, case: TestCase, rng: random.Random, rewriter: ModelBackend | None
    ) -> tuple[str, list[Message] | None, dict[str, Any]]:
        data = load_data("structured_payload.yaml")
        fmt = pick(rng, data["formats"])
        tpl = pick_template(rng, data[fmt], case.lang)
        if fmt == "json":
            payload = json.dumps(_insert(tpl["skeleton"], case.prompt), ensure_ascii=False, indent=2)
            prompt = fill(tpl["text"], payload=payload)
        else:
            prompt = fill(tpl["text"], question=table_cell(case.prompt))
        return prompt, None, {"template": tpl["id"], "format": fmt}
