"""`llm:<model string>`: a chat model names the category of each prompt and how harmful it looks.

Uses the same model-calling path as the LLM critic and router (`seval.models.base.resolve_model`,
`generate_many`); answers that cannot be read fall back to the embedded tagger, so every prompt gets a result.
The leaf risk is the embedded tagger's best leaf inside the model's category.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from functools import cache
from importlib import resources
from typing import Any

from seval.errors import SevalError
from seval.records import stable_hash
from seval.tagger.base import TAGGERS, Tagger, TagResult

_JSON = re.compile(r"\{.*?\}", re.S)


@cache
def load_template() -> str:
    import yaml

    text = resources.files("seval.tagger").joinpath("data/llm_tagger.yaml").read_text("utf-8")
    return str(yaml.safe_load(text)["user"])


def parse_answer(text: str, valid: set[str]) -> tuple[str, float, float] | None:
    """(category id, confidence, harmful) from the model's answer, or None when it is unusable."""
    for m in _JSON.finditer(text or ""):
        try:
            obj = json.loads(m.group(0))
        except json.JSONDecodeError:
            continue
        cat = str(obj.get("category") or "").strip()
        if cat not in valid:
            continue
        try:
            conf = min(1.0, max(0.0, float(obj.get("confidence", 0.8))))
            harm = min(1.0, max(0.0, float(obj.get("harmful", 0.5))))
        except (TypeError, ValueError):
            continue
        return cat, conf, harm
    return None


class LLMTagger(Tagger):
    """A chat model as the tagger; the embedded tagger fills leaves and unusable answers."""

    name = "llm"

    def __init__(self, spec: str, model_spec: str | Any, **model_options: Any) -> None:
        from seval.models.base import ModelBackend, resolve_model
        from seval.models.policy import with_policy
        from seval.tagger.embedded import EmbeddedTagger
        from seval.taxonomy import load_taxonomy

        super().__init__(spec)
        if isinstance(model_spec, ModelBackend):
            self.model = with_policy(model_spec, "router")
        elif not str(model_spec).strip():
            raise SevalError(f"tagger {spec!r} needs a model: llm:<model string>, e.g. llm:openai:gpt-4o-mini")
        else:
            self.model = with_policy(resolve_model(model_spec.strip(), **model_options), "router")
        tax = load_taxonomy()
        self.cats = {c.id: c for c in tax.categories}
        self.cat_lines = "\n".join(f"- {c.id}: {c.name_en} / {c.name_zh}" for c in tax.categories)
        self.fallback = EmbeddedTagger("embedded")

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "model": self.model.config(), "template": stable_hash(load_template()),
                "fallback": self.fallback.config()}

    def message(self, prompt: str) -> str:
        from seval.critic.llm import fence_markers, new_nonce, render, sanitize

        nonce = new_nonce()
        marks = fence_markers(nonce)
        return render(load_template(), {"categories": self.cat_lines, "prompt": sanitize(prompt, nonce, 4000),
                                        "begin": marks["prompt_open"],
                                        "end": marks["prompt_close"]})

    async def tag(self, prompts: Sequence[str]) -> list[TagResult]:
        from seval.records import GenParams, ModelCallError

        base = await self.fallback.tag(prompts)
        params = GenParams(temperature=0.0, max_tokens=80)
        answers = await self.model.generate_many([[{"role": "user", "content": self.message(p)}] for p in prompts],
                                                 params)
        out: list[TagResult] = []
        for emb, ans in zip(base, answers, strict=True):
            parsed = None if isinstance(ans, ModelCallError) else parse_answer(ans.text, set(self.cats))
            if parsed is None:
                emb.tagger = "llm->embedded"
                out.append(emb)
                continue
            cat, conf, harm = parsed
            dim = self.cats[cat].dimension
            rest = 1.0 - conf
            cats = {c: rest * s for c, s in emb.categories.items()}
            cats[cat] = cats.get(cat, 0.0) + conf
            dims: dict[str, float] = {}
            for c, s in cats.items():
                dims[c.split(".", 1)[0]] = dims.get(c.split(".", 1)[0], 0.0) + s
            risk = emb.risk if emb.category == cat else None
            out.append(TagResult(dim, dims[dim], cat, cats[cat], risk, emb.risk_score if risk else 0.0, harm,
                                 dims, cats, tagger="llm"))
        return out

    async def aclose(self) -> None:
        await self.model.aclose()


@TAGGERS.register("llm")
def _llm(spec: str, rest: str, **options: Any) -> LLMTagger:
    """A chat model as the tagger: llm:<model string> (model options pass through)."""
    return LLMTagger(spec, rest, **options)
