"""`seval generate`: write base risk prompts with a generator model (M_t), then select the good ones;
`seval generate select`: run selection alone on any benchmark file."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from seval.records import TestCase

_SCALE_HELP = "balanced sample per language: small (1000), medium (3000), large (5000), full (10000) or a number"


def _numbered_repeats(cases: list[TestCase]) -> list[TestCase]:
    """The raw file keeps every generated prompt, repeats too; a repeat's id gets `#N` so the file stays a
    readable benchmark (ids unique) and `meta.repeat_of` names the first."""
    seen: dict[str, int] = {}
    out = []
    for c in cases:
        n = seen[c.id] = seen.get(c.id, 0) + 1
        out.append(c if n == 1 else dataclasses.replace(c, id=f"{c.id}#{n}", meta={**c.meta, "repeat_of": c.id}))
    return out


def _sidecar(out: str, suffix: str) -> Path:
    p = Path(out)
    return p.with_name(p.name.removesuffix(".jsonl") + suffix)


def _load_existing(paths: tuple[str, ...], with_starter: bool) -> list[Any]:
    from seval.generate.templates import starter_cases
    from seval.io import read_cases

    cases: list[Any] = list(starter_cases()) if with_starter else []
    for p in paths:
        cases += read_cases(p)
    return cases


def _selection_cfg(scale: str | None, seed: int, embedding: str) -> Any:
    from seval.generate.sampling import parse_scale
    from seval.generate.selection import SelectionConfig

    return SelectionConfig(per_lang=parse_scale(scale), seed=seed, embedding=embedding)


def _write_report(out: str, payload: dict[str, Any]) -> Path:
    path = _sidecar(out, ".report.json")
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


@click.group(name="generate", invoke_without_command=True,
             help="Generate base risk prompts from the taxonomy with a generator model, then select the good ones.")
@click.option("--generator", "generator", metavar="MODEL", help="generator model string, e.g. local:smollm2")
@click.option("--risks", default="all", show_default=True,
              help="all, or comma-separated leaf risk / category / dimension ids")
@click.option("--lang", "lang", default="zh,en", show_default=True, help="languages, comma-separated")
@click.option("--per-risk", type=click.IntRange(1), default=10, show_default=True,
              help="prompts asked for per risk and language")
@click.option("--out", "out", metavar="FILE", help="output JSONL (S-Eval format plus seval fields)")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--translate-from", type=click.Choice(["zh", "en"]), default=None,
              help="generate in this language only and translate into the others (S-Eval made en from zh)")
@click.option("--concurrency", type=click.IntRange(1), default=None, help="requests in flight (default: backend's)")
@click.option("--existing", multiple=True, metavar="BENCH", help="benchmark(s) new prompts must not duplicate")
@click.option("--scale", default=None, help=_SCALE_HELP)
@click.option("--batch-size", type=click.IntRange(1), default=5, show_default=True, help="prompts per request")
@click.option("--max-attempts", type=click.IntRange(1), default=3, show_default=True,
              help="framings tried per request when the generator refuses or rambles")
@click.option("--max-tokens", type=click.IntRange(16), default=1024, show_default=True)
@click.option("--temperature", type=float, default=0.9, show_default=True)
@click.option("--embedding", type=click.Choice(["auto", "minilm", "chargram"]), default="auto", show_default=True)
@click.option("--no-select", is_flag=True, help="write the raw generations without selection")
@click.pass_context
def generate_cmd(ctx: click.Context, generator: str | None, risks: str, lang: str, per_risk: int, out: str | None,
                 seed: int, translate_from: str | None, concurrency: int | None, existing: tuple[str, ...],
                 scale: str | None, batch_size: int, max_attempts: int, max_tokens: int, temperature: float,
                 embedding: str, no_select: bool) -> None:
    """Writes FILE (kept prompts), FILE.raw.jsonl (everything generated) and FILE.report.json (counts).
    New prompts are also checked against the starter set, whose prompts are the few-shot examples."""
    if ctx.invoked_subcommand is not None:
        return
    from seval.errors import SevalError
    from seval.generate.generator import GenerateConfig
    from seval.generate.pipeline import parse_langs, resolve_risks
    from seval.io import write_cases
    from seval.models.base import resolve_model
    from seval.taxonomy import load_taxonomy

    if not generator:
        raise SevalError("--generator is required, e.g. --generator local:smollm2")
    if not out:
        raise SevalError("--out FILE is required")
    tax = load_taxonomy()
    risk_list = resolve_risks(tax, risks)
    langs = parse_langs(lang)
    gcfg = GenerateConfig(per_risk=per_risk, batch_size=batch_size, max_attempts=max_attempts, seed=seed,
                          temperature=temperature, max_tokens=max_tokens, concurrency=concurrency)
    scfg = None if no_select else _selection_cfg(scale, seed, embedding)
    old = _load_existing(existing, with_starter=True)
    backend = resolve_model(generator)
    step = max(1, len(risk_list) * len(langs) * -(-per_risk // batch_size) // 10)

    def progress(done: int, total: int) -> None:
        if done % step == 0 or done == total:
            click.echo(f"generated {done}/{total} requests", err=True)

    from seval.api import generate

    result = generate(backend, tax, risk_list, langs, gcfg, scfg, old, translate_from, progress)
    write_cases(_sidecar(out, ".raw.jsonl"), _numbered_repeats(result.raw))
    n = write_cases(out, _numbered_repeats(result.kept))
    config = {"per_risk": per_risk, "batch_size": batch_size, "max_attempts": max_attempts, "seed": seed,
              "langs": langs, "risks": [r.id for r in risk_list], "translate_from": translate_from,
              "temperature": temperature, "max_tokens": max_tokens}
    payload = {"generator": generator, "config": config, "generation": result.stats.to_dict(),
               "yield": result.yield_summary(), "selection": result.report.to_dict() if result.report else None}
    rp = _write_report(out, payload)
    s = result.stats
    click.echo(f"generator: {s.calls} calls, {s.refusals} refusals, {s.rambles} rambles, {s.errors} errors, "
               f"{s.retries} retries; {s.generated} of {s.requested} prompts received, {s.dropped} dropped")
    if result.report:
        click.echo(result.report.table())
    click.echo(f"wrote {n} prompts to {out} (raw: {_sidecar(out, '.raw.jsonl')}, report: {rp})")


@generate_cmd.command(name="select")
@click.option("--in", "in_path", required=True, metavar="FILE", help="benchmark JSONL to select from")
@click.option("--out", "out", required=True, metavar="FILE")
@click.option("--existing", multiple=True, metavar="BENCH", help="benchmark(s) the kept prompts must not duplicate")
@click.option("--scale", default=None, help=_SCALE_HELP)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--embedding", type=click.Choice(["auto", "minilm", "chargram"]), default="auto", show_default=True)
def select_cmd(in_path: str, out: str, existing: tuple[str, ...], scale: str | None, seed: int,
               embedding: str) -> None:
    """Run test selection alone: dedup, language, quality, on-topic, harm, links, balanced sampling."""
    from seval.generate.selection import select
    from seval.io import read_cases, write_cases

    cases = list(read_cases(in_path))
    kept, report = select(cases, _load_existing(existing, with_starter=False), _selection_cfg(scale, seed, embedding))
    n = write_cases(out, kept)
    rp = _write_report(out, {"input": in_path, "selection": report.to_dict()})
    click.echo(report.table())
    click.echo(f"wrote {n} prompts to {out} (report: {rp})")
