"""The tagger interface, its registry (`embedded`, `llm:<model>`) and `tag_cases`, which fills unlabelled cases."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from seval.records import TestCase, stable_hash
from seval.registry import Registry

TAGGERS: Registry[Callable[..., Tagger]] = Registry("tagger", "seval.tagger", group="seval.taggers")

#: the tagger seval uses unless told otherwise
DEFAULT_TAGGER = "embedded"


@dataclass(slots=True)
class TagResult:
    """One prompt's risk: the best dimension, category and leaf with their scores, the scores of all
    dimensions and categories (`dimensions`, `categories`; a category's score is P(its dimension) x
    P(it | its dimension)), and `harm`: how likely the prompt is a risk probe at all (0 ordinary .. 1 risky)."""

    dimension: str
    dimension_score: float
    category: str
    category_score: float
    risk: str | None
    risk_score: float
    harm: float
    dimensions: dict[str, float] = field(default_factory=dict)
    categories: dict[str, float] = field(default_factory=dict)
    tagger: str = "embedded"

    def top_categories(self, k: int = 3) -> list[tuple[str, float]]:
        return sorted(self.categories.items(), key=lambda kv: -kv[1])[:k]

    def to_meta(self) -> dict[str, Any]:
        """The compact form stored in a test case's meta["tagger"]."""
        return {"tagger": self.tagger, "dimension": self.dimension, "dimension_score": round(self.dimension_score, 4),
                "category": self.category, "category_score": round(self.category_score, 4), "risk": self.risk,
                "risk_score": round(self.risk_score, 4), "harm": round(self.harm, 4),
                "top_categories": {c: round(s, 4) for c, s in self.top_categories(3)}}


class Tagger(ABC):
    """Tags batches of prompts with their risk. Never raises on a single odd prompt: it still gets a result."""

    name: str = "tagger"

    def __init__(self, spec: str | None = None) -> None:
        self.spec = spec or self.name

    def config(self) -> dict[str, Any]:
        """Everything that changes the tagger's output (weights hash, model, template)."""
        return {"name": self.name, "spec": self.spec}

    def config_hash(self) -> str:
        return stable_hash(self.config())

    @abstractmethod
    async def tag(self, prompts: Sequence[str]) -> list[TagResult]: ...

    def tag_sync(self, prompts: Sequence[str]) -> list[TagResult]:
        """Convenience for scripts, the CLI and sync code called from inside an event loop (then the tagging
        runs on a worker thread with its own loop)."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self.tag(prompts))
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, self.tag(prompts)).result()

    async def aclose(self) -> None:
        """Release models the tagger holds."""


def resolve_tagger(spec: str | None = None, **options: Any) -> Tagger:
    """Build a tagger from its spec: `embedded` (default) or `llm:<model string>`."""
    spec = (spec or DEFAULT_TAGGER).strip()
    name, _, rest = spec.partition(":")
    return TAGGERS.get(name)(spec, rest, **options)


def _needs(case: TestCase, overwrite: bool) -> bool:
    return overwrite or not (case.dimension and case.category and case.risk)


def apply_result(case: TestCase, res: TagResult, overwrite: bool = False) -> TestCase:
    """Fill the case's missing labels from `res` (all of them with `overwrite`), keeping the hierarchy
    consistent: a label the case already has is kept, and predictions below it must agree with it."""
    from seval.taxonomy import load_taxonomy

    tax = load_taxonomy()
    dim, cat, risk = (None, None, None) if overwrite else (case.dimension, case.category, case.risk)
    if risk and tax.find_category(risk.rsplit(".", 1)[0]) is not None:
        cat = cat or risk.rsplit(".", 1)[0]
    if cat:
        c = tax.find_category(cat)
        dim = dim or (c.dimension if c is not None else None)
    if dim is None:
        dim = res.dimension
    if cat is None:
        in_dim = {c: s for c, s in res.categories.items() if c.split(".", 1)[0] == dim}
        cat = max(in_dim, key=in_dim.__getitem__) if in_dim else None
    if risk is None and cat == res.category:
        risk = res.risk
    case.dimension, case.category, case.risk = dim, cat, risk
    case.meta = {**case.meta, "tagger": res.to_meta()}
    return case


async def tag_cases_async(cases: Sequence[TestCase], tagger: Tagger | str | None = None, overwrite: bool = False,
                          batch_size: int = 512) -> list[TestCase]:
    """Fill missing dimension/category/risk of `cases` in place (all of them with `overwrite`); the tagger's
    scores go to meta["tagger"]. Cases that already carry all three labels are left untouched."""
    own = not isinstance(tagger, Tagger)
    tg = tagger if isinstance(tagger, Tagger) else resolve_tagger(tagger)
    try:
        todo = [c for c in cases if _needs(c, overwrite)]
        for i in range(0, len(todo), batch_size):
            chunk = todo[i:i + batch_size]
            for case, res in zip(chunk, await tg.tag([c.prompt for c in chunk]), strict=True):
                apply_result(case, res, overwrite)
    finally:
        if own:
            await tg.aclose()
    return list(cases)


def tag_cases(cases: Sequence[TestCase], tagger: Tagger | str | None = None, overwrite: bool = False) -> list[TestCase]:
    """Sync wrapper of `tag_cases_async` (CLI, scripts); do not call it from inside an event loop."""
    return asyncio.run(tag_cases_async(cases, tagger, overwrite))


def iter_tagged(cases: Iterable[TestCase], chunk: int = 256) -> Iterator[TestCase]:
    """Stream `cases`, filling missing labels with the embedded tagger (sync, so it is safe inside an event
    loop; deterministic, so every pass over a benchmark gets the same labels). Labelled cases pass untouched."""
    from seval.tagger.embedded import tag_texts

    buf: list[TestCase] = []

    def flush() -> Iterator[TestCase]:
        todo = [c for c in buf if _needs(c, False)]
        for case, res in zip(todo, tag_texts([c.prompt for c in todo]) if todo else [], strict=True):
            apply_result(case, res)
        yield from buf
        buf.clear()

    for case in cases:
        buf.append(case)
        if len(buf) >= chunk:
            yield from flush()
    yield from flush()
