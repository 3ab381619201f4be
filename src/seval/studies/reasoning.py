"""Reasoning study: with and without a chain-of-thought instruction; verdicts with <think> stripped and not.

The runner judges the answer with `<think>` blocks stripped (seval.metrics.text.strip_think) and stores the raw
output; this study re-judges the raw output of rows that had thinking, so both verdicts are reported.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from seval.errors import SevalError
from seval.metrics.compare import compare_outcomes
from seval.metrics.stats import rate_block
from seval.metrics.summary import SAFE, UNSAFE, outcome_of
from seval.metrics.text import strip_think
from seval.runs.folder import read_results
from seval.studies.common import now, run_one, write_study

LANGS = ("zh", "en")


def load_cot_prompts(path: str | None = None) -> dict[str, str]:
    """The CoT system prompt per language, from the packaged data file or a user's YAML {en: ..., zh: ...}."""
    import yaml

    text = (Path(path).read_text(encoding="utf-8") if path
            else resources.files("seval.studies").joinpath("data", "cot.yaml").read_text(encoding="utf-8"))
    data = yaml.safe_load(text)
    if not isinstance(data, dict) or not all(isinstance(data.get(lang), str) for lang in LANGS):
        raise SevalError(f"{path or 'cot.yaml'}: expected a mapping with string keys 'en' and 'zh'")
    return data


def _block(outcomes: dict[str, int]) -> dict[str, Any]:
    vals = list(outcomes.values())
    safe, unsafe = vals.count(SAFE), vals.count(UNSAFE)
    return {**rate_block(safe, safe + unsafe), "safe": safe, "unsafe": unsafe}


def _scan_arm(run_dirs: list[Path]) -> tuple[dict[str, Any], dict[str, int], dict[str, int], list[tuple[str, Any]]]:
    """Read an arm's base rows: the run's (stripped) verdicts, and the raw outputs that need a second verdict."""
    from seval.records import JudgeItem

    stripped: dict[str, int] = {}
    unstripped: dict[str, int] = {}
    pending: list[tuple[str, JudgeItem]] = []
    rows = with_think = 0
    for d in run_dirs:
        for row in read_results(d):
            if row.get("attack"):
                continue
            rows += 1
            rid = row["id"]
            slot = outcome_of(row.get("status"), row.get("verdict"))
            stripped[rid] = slot
            _, thinking = strip_think(row.get("response") or "")
            if row.get("status") == "ok" and thinking:
                with_think += 1
                pending.append((rid, JudgeItem(prompt=row["prompt"], response=row["response"], lang=row["lang"],
                                               dimension=row.get("dimension"), category=row.get("category"),
                                               risk=row.get("risk"), id=rid)))
            else:
                unstripped[rid] = slot
    return {"rows": rows, "with_think": with_think}, stripped, unstripped, pending


async def _judge_all(critic: Any, items: list[Any], batch: int = 32) -> list[Any]:
    """Judge in batches inside one event loop, then release the critic."""
    out: list[Any] = []
    try:
        for i in range(0, len(items), batch):
            out.extend(await critic.judge(items[i:i + batch]))
    finally:
        await critic.aclose()
    return out


def analyse_reasoning(out: Path, arms: dict[str, list[Path]], critic_spec: str | None,
                      meta: dict[str, Any]) -> dict[str, Any]:
    """Write study.json for arms {'plain': [run dirs], 'cot': [run dirs]}."""
    import asyncio

    from seval.critic.base import resolve_critic

    scans = {name: _scan_arm(dirs) for name, dirs in arms.items()}
    pending = [(name, rid, item) for name, sc in scans.items() for rid, item in sc[3]]
    critic = resolve_critic(critic_spec)
    verdicts = asyncio.run(_judge_all(critic, [it for _, _, it in pending])) if pending else []
    for (name, rid, _), v in zip(pending, verdicts, strict=True):
        scans[name][2][rid] = outcome_of("ok", v.label)
    arm_data = []
    for name, (info, stripped, unstripped, _) in scans.items():
        c = compare_outcomes(stripped, unstripped, n_boot=2000)
        arm_data.append({
            "name": name,
            "runs": [str(d.relative_to(out)) if d.is_relative_to(out) else str(d) for d in arms[name]],
            **info, "stripped": _block(stripped), "unstripped": _block(unstripped),
            "strip_effect": {k: c[k] for k in ("n_pairs", "diff", "diff_lo", "diff_hi", "a_safe_b_unsafe",
                                                "a_unsafe_b_safe", "p_value")},
        })
    vs = None
    if "cot" in scans and "plain" in scans:
        c = compare_outcomes(scans["cot"][1], scans["plain"][1])
        vs = {k: c[k] for k in ("n_pairs", "diff", "diff_lo", "diff_hi", "p_value")}
    data = {"study": "reasoning", "created": now(), **meta, "critic": critic.spec, "arms": arm_data,
            "cot_vs_plain": vs}
    write_study(out, data)
    return data


def run_reasoning(target: Any, bench: str | None, critic: str | None, out: Path, limit: int | None = None,
                  lang: str | None = None, max_tokens: int = 512, cot_prompts: str | None = None,
                  progress: bool = True) -> dict[str, Any]:
    """Run the plain and CoT arms (one run per language: the instruction is language-specific)."""
    from seval.records import GenParams

    prompts = load_cot_prompts(cot_prompts)
    langs = [lang] if lang else list(LANGS)
    arms: dict[str, list[Path]] = {"plain": [], "cot": []}
    for lg in langs:
        for arm in arms:
            params = GenParams(max_tokens=max_tokens, system_prompt=prompts[lg] if arm == "cot" else None)
            try:
                arms[arm].append(run_one(target, bench, critic, out / f"{arm}_{lg}", limit, lg, params, progress))
            except SevalError as exc:
                if "no test cases" in str(exc) and not lang:
                    continue  # the benchmark has no prompts in this language
                raise
    meta = {"target": getattr(target, "spec", target), "bench": bench, "limit": limit, "lang": lang, "max_tokens": max_tokens,
            "cot_prompts": prompts}
    return analyse_reasoning(out, {k: v for k, v in arms.items() if v}, critic, meta)
