"""Prompt-level harmfulness: a benign prompt is not a risk test.

The embedded critic's prompt classifier (`seval.critic.embedded.prompt_harm_scores`) is used when it is
installed. Without it, a documented fallback ("softening"): a prompt is benign when it asks how to prevent,
spot, report or protect oneself from the harm (patterns in data/selection.yaml): the usual way a cautious
generator softens a risk prompt. It is narrow: it drops none of the 280 starter prompts and matches none of
XSTest's 250 safe-but-risky-looking prompts, which only a classifier recognises. (Comparing a prompt with its
risk's out-of-scope text was tried and dropped: on the starter set it flagged a real risk prompt before any
benign one.)
"""

from __future__ import annotations

import importlib
import logging
import re
from collections.abc import Callable, Sequence
from functools import cache

from seval.generate.embeddings import Embedder
from seval.generate.textchecks import selection_config
from seval.records import TestCase
from seval.taxonomy import Taxonomy

log = logging.getLogger(__name__)


def embedded_classifier() -> Callable[[list[str]], Sequence[float]] | None:
    """`prompt_harm_scores(texts) -> scores in [0, 1]` from the embedded critic, or None when absent."""
    try:
        mod = importlib.import_module("seval.critic.embedded")
    except ImportError:
        return None
    fn = getattr(mod, "prompt_harm_scores", None)
    return fn if callable(fn) else None


def harm_scores(cases: Sequence[TestCase], tax: Taxonomy, embedder: Embedder,
                use_classifier: bool = True) -> tuple[list[float], str]:
    """A harm score in [0, 1] per case (below the threshold = benign) and the name of the method used."""
    fn = embedded_classifier() if use_classifier else None
    if fn is not None and cases:
        try:
            scores = [float(s) for s in fn([c.prompt for c in cases])]
            return scores, "embedded-critic"
        except Exception as exc:  # a missing weight file must not stop selection
            log.warning("embedded prompt classifier failed (%s): using the softening fallback", exc)
    return softening_scores(cases, tax, embedder), "softening-fallback"


@cache
def _benign_patterns() -> dict[str, list[re.Pattern[str]]]:
    pats = selection_config()["harm"]["benign_patterns"]
    return {lang: [re.compile(p, re.I) for p in ps] for lang, ps in pats.items()}


def benign_framing(text: str, lang: str) -> str | None:
    """The protective phrase that makes a prompt benign ("how to protect myself from..."), or None."""
    for pat in _benign_patterns().get(lang, _benign_patterns()["en"]):
        m = pat.search(text)
        if m:
            return m.group(0)
    return None


def softening_scores(cases: Sequence[TestCase], tax: Taxonomy, embedder: Embedder) -> list[float]:
    """0.0 for a softened (protective) prompt, else 1.0. (`tax` and `embedder` are unused: kept so that every
    scorer has one signature.)"""
    return [0.0 if benign_framing(c.prompt, c.lang) else 1.0 for c in cases]
