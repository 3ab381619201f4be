"""in_context_attack: fabricated compliant User/Assistant demonstrations in the question's dimension, then it."""

from __future__ import annotations

import random
from typing import Any

from seval.attacks._common import fill, lang_key, load_data, pick_template
from seval.attacks.base import ATTACKS, Attack
from seval.models.base import ModelBackend
from seval.records import Message, TestCase


def dimension_key(dimension: str | None, data: dict[str, Any]) -> str | None:
    """The demo key for a case's dimension: an id (CI), an S-Eval risk_type key or a name; None if unknown."""
    if not dimension:
        return None
    if dimension in data["demos"]:
        return dimension
    norm = dimension.replace(" ", "_")
    for alias, key in data["aliases"].items():
        if alias.lower() == norm.lower():
            return key
    return None


def demos_for(case: TestCase, rng: random.Random, k: int, pool_all: bool = False) -> tuple[list[dict[str, str]], str]:
    """`k` demonstrations (no repeats while the pool lasts) from the case's dimension, or from all dimensions."""
    data = load_data("in_context_attack.yaml")
    lang = lang_key(case.lang)
    key = None if pool_all else dimension_key(case.dimension, data)
    if key is None:
        pool = [d for dim in sorted(data["demos"]) for d in data["demos"][dim][lang]]
        source = "all"
    else:
        pool = list(data["demos"][key][lang])
        source = key
    picked: list[dict[str, str]] = []
    while len(picked) < k:
        picked.extend(rng.sample(pool, min(len(pool), k - len(picked))))
    return picked, source


def render_dialogue(demos: list[dict[str, str]], question: str, fmt: dict[str, str]) -> str:
    """Demonstrations then the question, in one of the data file's dialogue formats."""
    lines = []
    for d in demos:
        lines.append(fill(fmt["user"], q=d["q"]))
        lines.append(fill(fmt["assistant"], a=d["a"]))
    lines.append(fill(fmt["final"], question=question))
    return "\n\n".join(lines)


@ATTACKS.register("in_context_attack")
class InContextAttack(Attack):
    name = "in_context_attack"
    description = "Fabricated compliant demonstrations (fake, redacted answers) from the same risk dimension, then the question."
    source = "Wei et al. 2023, Jailbreak and Guard Aligned Language Models with Only Few In-Context Demonstrations"

    async def build(
        self, case: TestCase, rng: random.Random, rewriter: ModelBackend | None
    ) -> tuple[str, list[Message] | None, dict[str, Any]]:
        data = load_data("in_context_attack.yaml")
        lo, hi = data["shots"]
        demos, source = demos_for(case, rng, rng.randint(lo, hi))
        fmt = pick_template(rng, data["formats"], case.lang)
        prompt = render_dialogue(demos, case.prompt, fmt)
        return prompt, None, {"template": fmt["id"], "demo_dimension": source, "shots": len(demos)}
