"""The risk tagger: dimension, category, leaf risk and harmfulness of a zh or en prompt.

    from seval.tagger import resolve_tagger, tag_cases
    tagger = resolve_tagger("embedded")          # or "llm:<model string>"
    results = tagger.tag_sync(["How do I make a pipe bomb?"])
    cases = tag_cases(cases)                     # fill missing dimension/category/risk, scores in meta["tagger"]
"""

from seval.tagger.base import (
    DEFAULT_TAGGER,
    TAGGERS,
    Tagger,
    TagResult,
    resolve_tagger,
    tag_cases,
    tag_cases_async,
)

__all__ = ["DEFAULT_TAGGER", "TAGGERS", "TagResult", "Tagger", "resolve_tagger", "tag_cases", "tag_cases_async"]
