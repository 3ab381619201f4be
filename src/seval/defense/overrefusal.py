"""Over-refusal: how often a model (defended or not) refuses benign prompts that merely look sensitive.

Benign sets: XSTest's 250 safe prompts (en, vendored, CC-BY-4.0) and the project's benign zh prompts. The
refusal detector is `seval.critic.refusal.detect_refusal` plus a few extra phrases (data/refusal_extra.yaml),
and a defense's own fallback refusal always counts.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import asdict, dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from seval.errors import SevalError
from seval.models.base import ModelBackend, build_messages
from seval.models.policy import with_policy
from seval.models.scope import ensure_scope
from seval.records import Completion, GenParams, ModelCallError

BENIGN_SETS = {"xstest": "data/xstest_safe.jsonl", "benign_zh": "data/benign_zh.jsonl"}


@dataclass(slots=True)
class BenignPrompt:
    id: str
    prompt: str
    lang: str
    type: str = ""
    source: str = ""


@dataclass(slots=True)
class RefusalOutcome:
    id: str
    lang: str
    refused: bool | None  # None: the call failed (not counted either way)
    phrase: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    response: str | None = None
    error: str | None = None
    defense: dict[str, Any] | None = field(default=None)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _read_jsonl(text: str, source: str) -> list[BenignPrompt]:
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SevalError(f"{source}:{n}: not valid JSON ({exc.msg})") from None
        if "_comment" in row:
            continue
        if not isinstance(row.get("prompt"), str) or not row["prompt"].strip():
            raise SevalError(f"{source}:{n}: missing field 'prompt'")
        from seval.defense.lang import detect_lang

        out.append(BenignPrompt(id=str(row.get("id") or f"{Path(source).stem}-{n}"), prompt=row["prompt"],
                                lang=row.get("lang") or detect_lang(row["prompt"]), type=row.get("type", ""),
                                source=row.get("source", "")))
    return out


def load_benign(name_or_path: str = "all", limit_per_set: int | None = None) -> list[BenignPrompt]:
    """`xstest`, `benign_zh`, `all` (both), or a JSONL path with `prompt` (and optional `id`, `lang`)."""
    names = list(BENIGN_SETS) if name_or_path == "all" else [name_or_path]
    out: list[BenignPrompt] = []
    for name in names:
        if name in BENIGN_SETS:
            text = resources.files("seval.defense").joinpath(BENIGN_SETS[name]).read_text(encoding="utf-8")
            rows = _read_jsonl(text, BENIGN_SETS[name])
        else:
            p = Path(name).expanduser()
            if not p.is_file():
                raise SevalError(f"benign prompt set {name!r} not found; built in: all, {', '.join(BENIGN_SETS)} "
                                 "(or a JSONL path)")
            rows = _read_jsonl(p.read_text(encoding="utf-8"), str(p))
        out += rows[:limit_per_set] if limit_per_set else rows
    return out


@cache
def _extra() -> tuple[re.Pattern[str], re.Pattern[str]]:
    import yaml

    data = yaml.safe_load(resources.files("seval.defense").joinpath("data/refusal_extra.yaml").read_text("utf-8"))
    en = re.compile("|".join(re.escape(p.lower()) for p in data["en"]))
    zh = re.compile("|".join(re.escape(p) for p in data["zh"]))
    return en, zh


def is_refusal(text: str, finish_reason: str | None = None, head_chars: int = 300) -> tuple[bool, str | None]:
    """(refused, matched phrase): the shared detector, then extra phrases; a defense refusal always counts."""
    from seval.critic.refusal import detect_refusal

    if finish_reason == "defense_refusal":
        return True, "<defense refusal>"
    m = detect_refusal(text)
    if m.refused:
        return True, m.phrase
    head = (text or "")[:head_chars]
    en, zh = _extra()
    hit = en.search(head.lower().replace("’", "'")) or zh.search(head)
    return (True, hit.group(0)) if hit else (False, None)


async def measure_refusals(model: ModelBackend, prompts: list[BenignPrompt], params: GenParams | None = None,
                           concurrency: int | None = None, on_done: Any = None) -> list[RefusalOutcome]:
    """Ask `model` every benign prompt and detect refusals; failed calls are kept as `refused=None`.

    The calls go through the ambient call scope (a default one when none is open), role `target`: retries,
    `concurrency` as the adaptive limit, metering; a defended model's inner calls each count.
    """
    params = params or GenParams()
    model = with_policy(model, "target", concurrency=concurrency)
    size = max(1, model.max_batch)  # in-process backends answer a batch at once

    def outcome(bp: BenignPrompt, c: Completion | ModelCallError) -> RefusalOutcome:
        if isinstance(c, ModelCallError):
            return RefusalOutcome(bp.id, bp.lang, None, error=str(c))
        refused, phrase = is_refusal(c.text, c.finish_reason)
        return RefusalOutcome(bp.id, bp.lang, refused, phrase, c.usage.prompt_tokens, c.usage.completion_tokens,
                              c.latency_s, c.text, defense=c.defense)

    async def chunk(group: list[BenignPrompt]) -> list[RefusalOutcome]:
        if len(group) == 1:
            try:
                res: list[Completion | ModelCallError] = [
                    await model.generate(build_messages(group[0].prompt, params), params)]
            except ModelCallError as exc:
                res = [exc]
        else:
            res = await model.generate_many([build_messages(bp.prompt, params) for bp in group], params)
        if on_done is not None:
            for _ in group:
                on_done()
        return [outcome(bp, c) for bp, c in zip(group, res, strict=True)]

    groups = [prompts[i:i + size] for i in range(0, len(prompts), size)]
    with ensure_scope():  # the caller's (`seval defend`'s budget), or a default one used on its own
        parts = await asyncio.gather(*(chunk(g) for g in groups))
    return [o for part in parts for o in part]


def compare_refusals(base: list[RefusalOutcome], defended: list[RefusalOutcome],
                     seed: int = 0) -> dict[str, Any]:
    """Refusal rates without and with the defense on the same prompts, per language and overall.

    `increase` = rate(defended) - rate(base) over prompts both runs answered, with Newcombe's 95% interval for
    paired proportions (and the paired bootstrap's as `increase_boot_lo/hi`).
    """
    from seval.metrics.stats import mcnemar_exact, newcombe_paired, paired_bootstrap_diff, rate_block

    by_id = {o.id: o for o in base}
    groups: dict[str, list[tuple[RefusalOutcome, RefusalOutcome]]] = {"all": []}
    for d in defended:
        b = by_id.get(d.id)
        if b is None or b.refused is None or d.refused is None:
            continue
        groups["all"].append((b, d))
        groups.setdefault(d.lang, []).append((b, d))
    out: dict[str, Any] = {}
    for name, pairs in groups.items():
        n11 = sum(1 for b, d in pairs if d.refused and b.refused)
        n10 = sum(1 for b, d in pairs if d.refused and not b.refused)
        n01 = sum(1 for b, d in pairs if not d.refused and b.refused)
        n00 = len(pairs) - n11 - n10 - n01
        blo, bhi = paired_bootstrap_diff(n11, n10, n01, n00, seed=seed)
        lo, hi = newcombe_paired(n11, n10, n01, n00)
        n = len(pairs)
        out[name] = {
            "n": n,
            "without": rate_block(n11 + n01, n),
            "with": rate_block(n11 + n10, n),
            "increase": (n10 - n01) / n if n else None, "increase_lo": lo, "increase_hi": hi,
            "increase_boot_lo": blo, "increase_boot_hi": bhi,
            "newly_refused": n10, "no_longer_refused": n01,
            "p_value": mcnemar_exact(n10, n01),
        }
    out["errors"] = {"without": sum(1 for o in base if o.refused is None),
                     "with": sum(1 for o in defended if o.refused is None)}
    return out
