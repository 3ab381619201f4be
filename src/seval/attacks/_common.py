"""Helpers shared by the attack modules: template data, filling, language choice, rewriter calls."""

from __future__ import annotations

import random
import re
from functools import cache
from importlib import resources
from typing import Any

from seval.errors import SevalError
from seval.models.base import ModelBackend
from seval.records import GenParams, ModelCallError
from seval.templating import fill as fill  # the one filler, re-exported for the attack modules

_HAN = re.compile(r"[\u4e00-\u9fff]")
_WORD = re.compile(r"[A-Za-z][A-Za-z'\-]+|\d+")

#: base prompts longer than this are not sent to a rewriter (too costly, rewrites get truncated)
MAX_REWRITE_CHARS = 2000


@cache
def load_data(name: str) -> Any:
    """A YAML file from seval/attacks/data/, parsed once per process."""
    import yaml

    path = resources.files("seval.attacks").joinpath(f"data/{name}")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SevalError(f"attack data file {name!r} is missing from the installation") from None


def lang_key(lang: str | None) -> str:
    """Which template language to use: zh for Chinese cases, en for everything else."""
    return "zh" if (lang or "").lower().startswith("zh") else "en"


def pick(rng: random.Random, items: list[Any]) -> Any:
    if not items:
        raise SevalError("attack template list is empty")
    return items[rng.randrange(len(items))]


def pick_template(rng: random.Random, items: list[dict[str, Any]], lang: str) -> dict[str, Any]:
    """A template entry ({id, text, ...}) for the case's language; falls back to en entries."""
    key = lang_key(lang)
    pool = [t for t in items if t.get("lang", key) == key] or [t for t in items if t.get("lang") == "en"]
    return pick(rng, pool)


def strip_question(question: str) -> str:
    """The question without surrounding blanks and trailing sentence punctuation (for embedding in a sentence)."""
    return question.strip().rstrip("?？.。!！")


@cache
def _stopwords() -> tuple[frozenset[str], frozenset[str]]:
    data = load_data("rewriter_common.yaml")
    return frozenset(data["stopwords_en"]), frozenset(data["stopchars_zh"])


def key_terms(text: str) -> set[str]:
    """Content words (en) and content characters (zh) that identify what a question is about."""
    stop_en, stop_zh = _stopwords()
    terms = {w for w in (w.lower() for w in _WORD.findall(text)) if len(w) > 3 and w not in stop_en}
    terms |= {ch for ch in _HAN.findall(text) if ch not in stop_zh}
    return terms


def keeps_content(question: str, text: str, min_share: float = 0.3) -> bool:
    """Does a rewrite still carry the question's key content (a share of its content words / bigrams)?"""
    terms = key_terms(question)
    if not terms:
        return question.strip() in text
    found = key_terms(text)
    lowered = text.lower()
    hits = sum(1 for t in terms if t in found or t in lowered)
    return hits >= max(1, round(min_share * len(terms))) if len(terms) > 2 else hits >= 1


def clean_rewrite(text: str) -> str:
    """Strip what models wrap rewrites in: code fences, quotes, a leading 'Here is ...:' line."""
    t = text.strip()
    fence = re.match(r"^```[\w-]*\n(.*?)\n?```$", t, re.S)
    if fence:
        t = fence.group(1).strip()
    lines = t.splitlines()
    if len(lines) > 1 and re.match(r"^(here is|here's|sure|以下是|好的)[^\n]{0,60}[:：]\s*$", lines[0], re.I):
        t = "\n".join(lines[1:]).strip()
    if len(t) >= 2 and t[0] in "\"'“「" and t[-1] in "\"'”」":
        t = t[1:-1].strip()
    return t


async def rewrite(
    rewriter: ModelBackend | None,
    instruction: str,
    question: str,
    rng: random.Random,
    *,
    check_content: bool = True,
    min_share: float = 0.3,
    max_tokens: int = 400,
    max_chars: int = 2500,
) -> tuple[str | None, dict[str, Any]]:
    """Ask the rewriter; return (validated text, provenance) or (None, why it fell back).

    Valid means: non-empty, not a refusal, not the question echoed back, not overlong, and (when
    `check_content`) still about the question (`min_share` of its key terms).
    """
    from seval.critic.refusal import detect_refusal

    if rewriter is None:
        return None, {"rewriter": "fallback", "fallback_reason": "no rewriter"}
    if len(question) > MAX_REWRITE_CHARS:
        return None, {"rewriter": "fallback", "fallback_reason": "prompt too long to rewrite"}
    params = GenParams(temperature=0.7, top_p=0.95, max_tokens=max_tokens, seed=rng.randrange(2**31))
    try:
        completion = await rewriter.generate([{"role": "user", "content": instruction}], params)
    except ModelCallError as exc:
        return None, {"rewriter": "fallback", "fallback_reason": f"rewriter error: {exc.kind.value}"}
    text = clean_rewrite(completion.text or "")
    why = None
    if not text:
        why = "empty rewrite"
    elif detect_refusal(text).refused:
        why = "rewriter refused"
    elif " ".join(text.split()) == " ".join(question.split()):
        why = "rewrite is the question unchanged"
    elif len(text) > max_chars:
        why = "rewrite too long"
    elif check_content and not keeps_content(question, text, min_share):
        why = "rewrite lost the question"
    if why:
        return None, {"rewriter": "fallback", "fallback_reason": why}
    return text, {"rewriter": rewriter.spec}
