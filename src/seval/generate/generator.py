"""The expert testing LLM (M_t): ask a generator model for base risk prompts per (risk, language), retrying
with another framing when it refuses or rambles, and counting what is finally dropped."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from seval.critic.refusal import detect_refusal
from seval.generate.parse import parse_prompt_list
from seval.generate.templates import build_request, translation_messages
from seval.models.base import ModelBackend
from seval.models.policy import with_policy
from seval.models.scope import ensure_scope
from seval.records import ErrorKind, GenParams, ModelCallError, TestCase, md5_hex
from seval.taxonomy import Risk, Taxonomy


@dataclass(slots=True)
class GenerationStats:
    """What the generator did: calls, why attempts failed, and how many prompts were dropped in the end."""

    jobs: int = 0  # (risk, language, batch) requests
    calls: int = 0  # model calls, retries included
    refusals: int = 0  # attempts where the generator refused
    rambles: int = 0  # attempts whose answer held no parseable list
    errors: int = 0  # attempts that failed with a model-call error
    retries: int = 0  # attempts after the first one
    failed_jobs: int = 0  # jobs still without a list after every attempt: their prompts are dropped
    requested: int = 0  # prompts asked for
    generated: int = 0  # prompts received (after parsing)
    dropped: int = 0  # prompts asked for but not received: failed jobs plus short lists
    extra_discarded: int = 0  # items beyond the n asked for
    parsed_json: int = 0
    parsed_numbered: int = 0
    translations: int = 0  # translations received
    translation_failures: int = 0  # source prompts whose translation was refused or empty
    error_kinds: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)  # a few refused / rambling answers, for inspection

    def note(self, kind: str, text: str) -> None:
        """Keep the first few answers of a kind (refusal, ramble) for the report."""
        lst = self.examples.setdefault(kind, [])
        if len(lst) < 3:
            lst.append(" ".join(text.split())[:200])

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class GenerateConfig:
    """Settings of one generation run (recorded in every prompt's provenance through `seed`)."""

    per_risk: int = 10
    batch_size: int = 5
    max_attempts: int = 3
    seed: int = 0
    temperature: float = 0.9
    top_p: float = 0.95
    max_tokens: int = 1024
    k_shots: int = 3
    concurrency: int | None = None


def _jobs(risks: Sequence[Risk], langs: Sequence[str], cfg: GenerateConfig) -> list[tuple[Risk, str, int, int]]:
    """(risk, lang, job index, n) for every request: per_risk prompts per risk and language, in batches."""
    out = []
    for risk in risks:
        for lang in langs:
            for j in range(math.ceil(cfg.per_risk / cfg.batch_size)):
                n = min(cfg.batch_size, cfg.per_risk - j * cfg.batch_size)
                out.append((risk, lang, j, n))
    return out


async def _run_job(backend: ModelBackend, tax: Taxonomy, risk: Risk, lang: str, job: int, n: int,
                   cfg: GenerateConfig, stats: GenerationStats) -> list[TestCase]:
    """One batch request with up to max_attempts framings; returns the prompts with their provenance."""
    for attempt in range(cfg.max_attempts):
        req = build_request(tax, risk, lang, n, cfg.seed, job, attempt, cfg.k_shots)
        call_seed = (cfg.seed * 1_000_003 + job * 101 + attempt) % (2**31)
        params = GenParams(temperature=cfg.temperature, top_p=cfg.top_p, max_tokens=cfg.max_tokens,
                           seed=call_seed)
        stats.calls += 1
        stats.retries += attempt > 0
        try:
            comp = await backend.generate(req.messages, params)
        except ModelCallError as exc:
            stats.errors += 1
            stats.error_kinds[exc.kind.value] = stats.error_kinds.get(exc.kind.value, 0) + 1
            if exc.kind == ErrorKind.CONTENT_FILTER:
                continue  # the provider's filter refused this framing: another framing may pass
            break  # the call policy already retried what deserved it

        text = comp.text or ""
        start = req.provenance.get("continues_at")
        if start is not None and not text.lstrip()[:1].isdigit():
            text = f"{start}. {text.lstrip()}"  # the model continued the list right after "N."
        parsed = parse_prompt_list(text)
        if parsed is None:
            if detect_refusal(text).refused:
                stats.refusals += 1
                stats.note("refusal", text)
            else:
                stats.rambles += 1
                stats.note("ramble", text)
            continue
        items, how = parsed
        if how == "json":
            stats.parsed_json += 1
        else:
            stats.parsed_numbered += 1
        stats.extra_discarded += max(0, len(items) - n)
        items = items[:n]
        stats.generated += len(items)
        stats.dropped += n - len(items)
        meta_base = {"generator": backend.spec, **req.provenance, "parse": how, "call_seed": call_seed}
        return [TestCase(id=md5_hex(p), prompt=p, lang=lang, dimension=risk.dimension, category=risk.category,
                         risk=risk.id, meta={**meta_base, "index": i}) for i, p in enumerate(items)]
    stats.failed_jobs += 1
    stats.dropped += n
    return []


async def generate_cases(backend: ModelBackend, tax: Taxonomy, risks: Sequence[Risk], langs: Sequence[str],
                         cfg: GenerateConfig, progress: Callable[[int, int], None] | None = None,
                         ) -> tuple[list[TestCase], GenerationStats]:
    """Base risk prompts for every (risk, language), in a stable order whatever the completion order."""
    stats = GenerationStats()
    jobs = _jobs(risks, langs, cfg)
    stats.jobs = len(jobs)
    stats.requested = sum(j[3] for j in jobs)
    # concurrency, retries and metering: the generator's call policy (role `generator`)
    backend = with_policy(backend, "generator", concurrency=cfg.concurrency)
    done = 0

    async def one(job: tuple[Risk, str, int, int]) -> list[TestCase]:
        nonlocal done
        res = await _run_job(backend, tax, job[0], job[1], job[2], job[3], cfg, stats)
        done += 1
        if progress:
            progress(done, len(jobs))
        return res

    with ensure_scope():  # the caller's (a `seval generate` budget), or a default one used on its own
        results = await asyncio.gather(*(one(j) for j in jobs))
    return [c for batch in results for c in batch], stats


def clean_translation(text: str) -> str:
    """The translated sentence alone: code fences, a 'Translation:' label and wrapping quotes removed."""
    t = (text or "").strip().strip("`").strip()
    for label in ("translation:", "english:", "english translation:", "译文：", "译文:", "中文：", "中文:"):
        if t.lower().startswith(label):
            t = t[len(label):].strip()
    lines = [ln.strip() for ln in t.splitlines() if ln.strip()]
    t = lines[0] if lines else ""
    if len(t) >= 2 and t[0] in "\"“'「" and t[-1] in "\"”'」":
        t = t[1:-1].strip()
    return t


async def translate_cases(backend: ModelBackend, cases: Sequence[TestCase], target: str, cfg: GenerateConfig,
                          stats: GenerationStats) -> list[TestCase]:
    """Translate base prompts into `target` with the generator (as S-Eval made en from zh); each translation
    keeps the link to its source in `from_id`. Refused or empty translations are counted and dropped."""
    backend = with_policy(backend, "generator", concurrency=cfg.concurrency)
    params = GenParams(temperature=0.0, max_tokens=min(cfg.max_tokens, 512), seed=cfg.seed)

    async def one(src: TestCase) -> TestCase | None:
        stats.calls += 1
        try:
            comp = await backend.generate(translation_messages(src.prompt, target), params)
        except ModelCallError as exc:
            stats.errors += 1
            stats.error_kinds[exc.kind.value] = stats.error_kinds.get(exc.kind.value, 0) + 1
            stats.translation_failures += 1
            return None
        text = clean_translation(comp.text)
        if not text or detect_refusal(text).refused:
            stats.translation_failures += 1
            return None
        stats.translations += 1
        meta = {**src.meta, "translated_by": backend.spec, "template": f"{target}.translation",
                "source_template": src.meta.get("template"), "source_lang": src.lang}
        return TestCase(id=md5_hex(text), prompt=text, lang=target, dimension=src.dimension,
                        category=src.category, risk=src.risk, from_id=src.id, meta=meta)

    with ensure_scope():
        out = await asyncio.gather(*(one(c) for c in cases))
    return [c for c in out if c is not None]
