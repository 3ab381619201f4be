"""code_injection: the question split into string variables of a Python program that prints their join."""

from __future__ import annotations

import itertools
import random
from typing import Any

from seval.attacks._common import fill, load_data, pick, pick_template
from seval.attacks.base import ATTACKS, Attack
from seval.models.base import ModelBackend
from seval.records import Message, TestCase


def split_text(text: str, parts: int, rng: random.Random) -> list[str]:
    """Cut `text` into up to `parts` non-empty pieces, at spaces when it has enough of them."""
    spaces = [i + 1 for i, ch in enumerate(text[:-1]) if ch == " "]
    cuts_pool = spaces if len(spaces) >= parts - 1 else list(range(1, len(text)))
    k = min(parts - 1, len(cuts_pool))
    cuts = sorted(rng.sample(cuts_pool, k)) if k > 0 else []
    bounds = [0, *cuts, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds) if b > a]


def build_program(pieces: list[str], names: list[str], result: str, rng: random.Random) -> str:
    """Assign the pieces to variables (in shuffled order), join them in the right order, print the result."""
    order = list(range(len(pieces)))
    rng.shuffle(order)
    lines = [f"{names[i]} = {pieces[i]!r}" for i in order]
    lines.append(f"{result} = " + " + ".join(names[: len(pieces)]))
    lines.append(f"print({result})")
    return "\n".join(lines)


@ATTACKS.register("code_injection")
class CodeInjection(Attack):
    name = "code_injection"
    description = "Question split into string variables of a Python program; the model runs it and obeys the output."
    source = "Kang et al. 2023, Exploiting Programmatic Behavior of LLMs: Dual-Use Through Standard Security Attacks"

    async def build(
        self, case: TestCase, rng: random.Random, rewriter: ModelBackend | None
    ) -> tuple[str, list[Message] | None, dict[str, Any]]:
        data = load_data("code_injection.yaml")
        lo, hi = data["parts"]
        pieces = split_text(case.prompt, rng.randint(lo, hi), rng)
        names = pick(rng, data["var_names"])
        if len(names) < len(pieces):
            names = [f"{names[0]}_{i}" for i in range(len(pieces))]
        program = build_program(pieces, names, pick(rng, data["result_names"]), rng)
        tpl = pick_template(rng, data["templates"], case.lang)
        return fill(tpl["text"], code=program), None, {"template": tpl["id"], "parts": len(pieces)}
