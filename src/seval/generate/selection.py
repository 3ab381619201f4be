"""Test selection: keep prompts that are new, in the right language, real questions, on topic and harmful,
then sample a balanced benchmark. Each step counts what it keeps and why it drops the rest.

Steps, cheapest first: exact_dedup, language, quality, near_dedup, on_topic, harm, links, sample.
Thresholds live in data/selection.yaml, with how they were measured (`bench/bench_generate.py --thresholds`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from seval.generate.dedup import exact_dedup, near_dedup
from seval.generate.embeddings import Embedder
from seval.generate.harm import harm_scores
from seval.generate.report import SelectionReport
from seval.generate.sampling import balanced_sample
from seval.generate.textchecks import language_ok, quality_ok, selection_config
from seval.generate.topic import tagger_topic_ranks, topic_scores
from seval.records import TestCase
from seval.taxonomy import Taxonomy, load_taxonomy

Dropped = list[tuple[TestCase, str]]


@dataclass(slots=True)
class SelectionConfig:
    """Which steps run and their thresholds (defaults from data/selection.yaml)."""

    per_lang: int | None = None  # balanced sample size per language; None keeps everything that passes
    seed: int = 0
    embedding: str = "auto"  # auto | minilm | chargram
    dedup_thresholds: dict[str, dict[str, float]] = field(default_factory=dict)
    on_topic: dict[str, dict[str, object]] = field(default_factory=dict)  # method -> max_rank, min_sim
    harm_threshold: float = 0.0
    check_harm: bool = True
    check_topic: bool = True
    topic: str = "tagger"  # tagger (the risk tagger's category rank) | embedding (similarity to the risk's scope)
    tagger: str | None = None  # tagger spec for topic="tagger" (default: embedded)

    def __post_init__(self) -> None:
        cfg = selection_config()
        self.dedup_thresholds = self.dedup_thresholds or cfg["dedup"]
        self.on_topic = self.on_topic or cfg["on_topic"]
        self.harm_threshold = self.harm_threshold or float(cfg["harm"]["threshold"])


def _split(cases: Sequence[TestCase], verdicts: Sequence[tuple[bool, str]]) -> tuple[list[TestCase], Dropped]:
    kept = [c for c, (ok, _) in zip(cases, verdicts, strict=True) if ok]
    dropped = [(c, why) for c, (ok, why) in zip(cases, verdicts, strict=True) if not ok]
    return kept, dropped


def on_topic_verdicts(cases: Sequence[TestCase], tax: Taxonomy, embedder: Embedder,
                      cfg: SelectionConfig) -> list[tuple[bool, str]]:
    """On topic: with topic="tagger", its own category among the tagger's `max_rank` best; with "embedding", its
    own category among the `max_rank` most similar and similarity to its risk >= min_sim.
    Prompts without a known leaf risk are kept (nothing to compare with)."""
    out: list[tuple[bool, str]] = [(True, "")] * len(cases)
    known = {r.id for r in tax.risks}
    if cfg.topic == "tagger":
        idx = [i for i, c in enumerate(cases) if c.risk in known]
        max_rank = int(selection_config()["on_topic"]["tagger"]["max_rank"])
        for i, (rank, score) in zip(idx, tagger_topic_ranks([cases[i] for i in idx], cfg.tagger), strict=True):
            if rank > max_rank:
                out[i] = (False, f"off-topic (the tagger ranks its category {rank} > {max_rank}, score {score:.2f})")
        return out
    for lang in sorted({c.lang for c in cases}):
        idx = [i for i, c in enumerate(cases) if c.lang == lang and c.risk in known]
        if not idx:
            continue
        rule = cfg.on_topic[embedder.methods(lang)[0]]
        max_rank = int(rule["max_rank"])  # type: ignore[call-overload]
        floor = float(rule["min_sim"].get(lang, rule["min_sim"]["en"]))  # type: ignore[attr-defined]
        for i, ts in zip(idx, topic_scores([cases[i] for i in idx], tax, embedder, lang), strict=True):
            if ts.cat_rank > max_rank:
                out[i] = (False, f"off-topic (its category ranks {ts.cat_rank} > {max_rank})")
            elif ts.own_sim < floor:
                out[i] = (False, f"off-topic (similarity to its risk {ts.own_sim:.2f} < {floor})")
    return out


def select(cases: Sequence[TestCase], existing: Sequence[TestCase] = (), cfg: SelectionConfig | None = None,
           tax: Taxonomy | None = None, embedder: Embedder | None = None) -> tuple[list[TestCase], SelectionReport]:
    """Run every selection step; returns the kept prompts (input order) and the per-step report."""
    cfg = cfg or SelectionConfig()
    tax = tax or load_taxonomy()
    embedder = embedder or Embedder(cfg.embedding)
    report = SelectionReport(settings={
        "embedding": {lang: embedder.name(lang) for lang in sorted({c.lang for c in cases}) or ["en"]},
        "dedup_thresholds": cfg.dedup_thresholds, "on_topic": cfg.on_topic, "topic": cfg.topic, "harm_threshold": cfg.harm_threshold, "per_lang": cfg.per_lang,
        "seed": cfg.seed, "existing": len(existing)})
    cur = list(cases)

    def run(name: str, kept: list[TestCase], dropped: Dropped, note: str = "") -> None:
        nonlocal cur
        report.add(name, len(cur), kept, dropped, note)
        cur = kept

    run("exact_dedup", *exact_dedup(cur, existing))
    run("language", *_split(cur, [language_ok(c.prompt, c.lang) for c in cur]))
    run("quality", *_split(cur, [quality_ok(c.prompt, c.lang) for c in cur]))
    run("near_dedup", *near_dedup(cur, existing, embedder, cfg.dedup_thresholds))
    if cfg.check_topic:
        run("on_topic", *_split(cur, on_topic_verdicts(cur, tax, embedder, cfg)))
    if cfg.check_harm:
        scores, method = harm_scores(cur, tax, embedder)
        verdicts = [(s >= cfg.harm_threshold, f"benign ({method} harm score {s:.2f} < {cfg.harm_threshold})")
                    for s in scores]
        run("harm", *_split(cur, verdicts), note=f"[{method}]")
        report.settings["harm_method"] = method
    run("links", *_links(cases, cur))
    if cfg.per_lang is not None:
        sampled = balanced_sample(cur, cfg.per_lang, cfg.seed)
        ids = {id(c) for c in sampled}
        run("sample", sampled, [(c, "not sampled (scale reached)") for c in cur if id(c) not in ids])
    return cur, report


def _links(all_cases: Sequence[TestCase], kept: list[TestCase]) -> tuple[list[TestCase], Dropped]:
    """A translation whose source prompt was in the input but was dropped goes too (its pair is gone)."""
    in_ids = {c.id for c in all_cases}
    kept_ids = {c.id for c in kept}
    ok = [c for c in kept if not (c.from_id and c.from_id in in_ids and c.from_id not in kept_ids)]
    okset = {id(c) for c in ok}
    return ok, [(c, "its source prompt was dropped") for c in kept if id(c) not in okset]


def report_summary(report: SelectionReport) -> dict[str, Any]:
    """in -> kept per step, as one flat dict (for benchmarks and closing notes)."""
    return {s.step: f"{s.n_in}->{s.kept}" for s in report.steps}
