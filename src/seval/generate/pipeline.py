"""The whole M_t run: generate (natively or by translation), then select; what the CLI and benchmarks call."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from seval.errors import SevalError
from seval.generate.generator import GenerateConfig, GenerationStats, generate_cases, translate_cases
from seval.generate.report import SelectionReport
from seval.generate.selection import SelectionConfig, select
from seval.generate.templates import template_langs
from seval.models.base import ModelBackend
from seval.records import TestCase
from seval.taxonomy import Risk, Taxonomy


def resolve_risks(tax: Taxonomy, spec: str) -> list[Risk]:
    """`all`, or comma-separated leaf risk ids, category ids/names or dimension ids/names (expanded to leaves)."""
    if spec.strip().lower() == "all":
        return list(tax.risks)
    out: list[Risk] = []
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        if part in {r.id for r in tax.risks}:
            found = [tax.risk(part)]
        elif (c := tax.find_category(part)) is not None:
            found = list(c.risks)
        elif (d := tax.find_dimension(part)) is not None:
            found = [r for c in d.categories for r in c.risks]
        else:
            tax.risk(part)  # raises the one-line error listing where to find valid ids
            found = []
        out += [r for r in found if r not in out]
    if not out:
        raise SevalError(f"no risks selected by {spec!r}")
    return out


def parse_langs(spec: str) -> list[str]:
    langs = [s.strip() for s in spec.split(",") if s.strip()]
    valid = template_langs()
    bad = [lg for lg in langs if lg not in valid]
    if bad or not langs:
        raise SevalError(f"bad --lang {spec!r}: choose from {', '.join(valid)} (comma-separated)")
    return list(dict.fromkeys(langs))


@dataclass(slots=True)
class GenerateResult:
    raw: list[TestCase]
    kept: list[TestCase]
    stats: GenerationStats
    report: SelectionReport | None
    extra: dict[str, Any] = field(default_factory=dict)

    def yield_summary(self) -> dict[str, Any]:
        """Generated -> kept per filter, for the closing note and benchmarks."""
        out: dict[str, Any] = {"requested": self.stats.requested, "generated": self.stats.generated,
                               "translated": self.stats.translations, "failed_jobs": self.stats.failed_jobs,
                               "dropped_by_generator": self.stats.dropped}
        if self.report:
            out["steps"] = {s.step: [s.n_in, s.kept] for s in self.report.steps}
            out["kept"] = self.report.n_out
            out["duplicate_rate"] = round(self.report.duplicate_rate, 4)
        return out


async def run_generate(backend: ModelBackend, tax: Taxonomy, risks: Sequence[Risk], langs: Sequence[str],
                       gcfg: GenerateConfig, scfg: SelectionConfig | None, existing: Sequence[TestCase] = (),
                       translate_from: str | None = None,
                       progress: Callable[[int, int], None] | None = None) -> GenerateResult:
    """Generate for every (risk, language) (translating into the other languages when `translate_from` is set),
    then run selection against `existing` unless `scfg` is None."""
    if translate_from is not None and translate_from not in langs:
        raise SevalError(f"--translate-from {translate_from} needs {translate_from} in --lang")
    native = [translate_from] if translate_from else list(langs)
    raw, stats = await generate_cases(backend, tax, risks, native, gcfg, progress)
    if translate_from:
        for target in (lg for lg in langs if lg != translate_from):
            raw += await translate_cases(backend, [c for c in raw if c.lang == translate_from], target, gcfg, stats)
    report = None
    kept = raw
    if scfg is not None:
        kept, report = select(raw, existing, scfg, tax)
    return GenerateResult(raw, kept, stats, report)
