"""low_resource_language (extension): the question translated into a low-resource language by the rewriter.

Without a rewriter (or when its translation is unusable) it falls back to an obfuscation that needs no model:
words spelled backwards or leetspeak (en), or the sentence reversed (zh); `meta["obfuscation"]` says which.
"""

from __future__ import annotations

import random
import re
from typing import Any

from seval.attacks._common import fill, lang_key, load_data, pick, pick_template, rewrite
from seval.attacks.base import ATTACKS, Attack
from seval.models.base import ModelBackend
from seval.records import Message, TestCase


def reverse_words(text: str) -> str:
    """Each run of letters/digits written backwards; spaces and punctuation stay in place."""
    return re.sub(r"\w+", lambda m: m.group(0)[::-1], text)


def leetspeak(text: str, table: dict[str, str]) -> str:
    return "".join(table.get(ch.lower(), ch) for ch in text)


def obfuscate(text: str, method: str) -> str:
    if method == "word_reversal":
        return reverse_words(text)
    if method == "leetspeak":
        return leetspeak(text, load_data("low_resource_language.yaml")["leet"])
    if method == "char_reversal":
        return text[::-1]
    raise ValueError(f"unknown obfuscation {method!r}")


def _usable_translation(source: str, text: str) -> bool:
    """A translation has a plausible length (`rewrite` already rejected an echo of the source)."""
    return 0.3 <= len(text) / max(1, len(source)) <= 6.0


@ATTACKS.register("low_resource_language")
class LowResourceLanguage(Attack):
    name = "low_resource_language"
    description = ("Question translated into Zulu, Scots Gaelic, Hmong or Guarani by the rewriter; "
                   "without one, word-reversal/leetspeak obfuscation.")
    source = "Yong et al. 2023, Low-Resource Languages Jailbreak GPT-4"
    extension = True
    needs_model = True

    async def build(
        self, case: TestCase, rng: random.Random, rewriter: ModelBackend | None
    ) -> tuple[str, list[Message] | None, dict[str, Any]]:
        data = load_data("low_resource_language.yaml")
        language = pick(rng, data["languages"])
        ask = fill(data["rewriter"], language=language, question=case.prompt)
        text, meta = await rewrite(rewriter, ask, case.prompt, rng, check_content=False, max_tokens=600)
        if text and _usable_translation(case.prompt, text):
            tpl = pick_template(rng, data["translated"], case.lang)
            return fill(tpl["text"], translation=text), None, {"template": tpl["id"], "language": language, **meta}
        if text:
            meta = {"rewriter": "fallback", "fallback_reason": "translation of implausible length"}
        methods = data["fallback"][lang_key(case.lang)]
        method = pick(rng, sorted(methods))
        tpl = pick_template(rng, methods[method], case.lang)
        prompt = fill(tpl["text"], payload=obfuscate(case.prompt, method))
        return prompt, None, {"template": tpl["id"], "obfuscation": method, **meta}
