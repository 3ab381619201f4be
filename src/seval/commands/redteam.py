"""`seval redteam`: adaptive attacks (PAIR, TAP, Crescendo) against a target, driven by an attacker model."""

from __future__ import annotations

import json
from typing import Any

import click

from seval.commands.options import runner_options


@click.command("redteam")
@click.option("--target", required=True, help="The model under test (a model string, as for `seval run`).")
@click.option("--attacker", required=True, help="The attacker model that writes and refines the prompts.")
@click.option("--bench", default=None, help="Base prompts (any benchmark format). Default: the starter benchmark.")
@click.option("--methods", default="pair,tap,crescendo", show_default=True,
              help="Comma-separated adaptive methods (pair, tap, crescendo) or `all`.")
@click.option("--critic", default=None, help="Critic spec that judges every target reply (default: embedded).")
@click.option("--max-turns", type=int, default=3, show_default=True,
              help="PAIR: attacker iterations; Crescendo: conversation turns.")
@click.option("--width", type=int, default=2, show_default=True, help="TAP: leaves kept after pruning.")
@click.option("--depth", type=int, default=2, show_default=True, help="TAP: refinement rounds.")
@click.option("--branching", type=int, default=2, show_default=True, help="TAP: refinements per leaf and round.")
@click.option("--max-backtracks", type=int, default=2, show_default=True,
              help="Crescendo: refused turns taken back and retried.")
@click.option("--on-topic", type=float, default=None,
              help="TAP: similarity to the base prompt below which a refinement is pruned (default per method).")
@click.option("--out", default=None, help="Output folder (default seval-runs/redteam__<target>__<bench>; "
              "re-running resumes).")
@click.option("--limit", type=click.IntRange(1), default=None, help="Only the first N base prompts.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default=None, help="Only one language.")
@click.option("--concurrency", type=click.IntRange(1, 1024), default=4, show_default=True,
              help="Attempts (base prompt x method) in progress at once.")
@click.option("--max-tokens", type=click.IntRange(1), default=None,
              help="Target answer cap (default 256; 64 for in-process models).")
@click.option("--attacker-max-tokens", type=click.IntRange(1), default=None,
              help="Attacker output cap (default 512; 160 for in-process models).")
@click.option("--attacker-temperature", type=float, default=1.0, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print summary.json instead of the table.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@runner_options
def redteam_cmd(target: str, attacker: str, bench: str | None, methods: str, critic: str | None, max_turns: int,
                width: int, depth: int, branching: int, max_backtracks: int, on_topic: float | None,
                out: str | None, limit: int | None, lang: str | None, concurrency: int, max_tokens: int | None,
                attacker_max_tokens: int | None, attacker_temperature: float, seed: int, as_json: bool, quiet: bool,
                **runner: Any) -> None:
    """Adaptive red teaming: the attacker reads the target's replies and adapts (PAIR, TAP, Crescendo).

    Writes redteam.jsonl (one row per base prompt and method, with the conversation), summary.json (attack
    success rate per method with 95% intervals, mean queries to success) and run.json. Exit code 3 when a
    budget stopped the run; re-running continues from the stored steps.
    """
    from seval.api import redteam
    from seval.redteam.base import RedteamSettings

    settings = RedteamSettings(max_turns=max_turns, width=width, depth=depth, branching=branching,
                               max_backtracks=max_backtracks, on_topic=on_topic)
    result = redteam(target=target, attacker=attacker, bench=bench, methods=methods, critic=critic,
                     settings=settings, out=out, limit=limit, lang=lang, concurrency=concurrency,
                     max_tokens=max_tokens, attacker_max_tokens=attacker_max_tokens,
                     attacker_temperature=attacker_temperature, seed=seed, progress=not quiet, **runner)
    if as_json:
        click.echo(json.dumps(result.summary, ensure_ascii=False, indent=2))
    else:
        click.echo(summary_table(result.summary))
        click.echo(f"rows: {result.rows_path}  summary: {result.out_dir / 'summary.json'}")
    if not result.complete:
        click.echo(result.message, err=True)
        raise SystemExit(result.exit_code)


def _pct(b: dict[str, Any]) -> str:
    if b.get("rate") is None:
        return "-"
    return f"{100 * b['rate']:.1f}% [{100 * b['lo']:.1f}, {100 * b['hi']:.1f}] (n={b['n']})"


def summary_table(summary: dict[str, Any]) -> str:
    """Per method: ASR with its interval, mean queries to success, calls per base prompt."""
    lines = ["", f"{'method':<12} {'attack success rate [95% CI]':<34} {'queries to success':>19} "
             f"{'calls/base prompt':>18}  stopped"]
    for m, b in summary["methods"].items():
        q = b["mean_queries_to_success"]["total"]
        c = b["calls_per_base_prompt"]["total"]
        stops = ", ".join(f"{k} {v}" for k, v in sorted(b["stopped"].items()))
        lines.append(f"{m:<12} {_pct(b['asr']):<34} {('-' if q is None else f'{q:.1f}'):>19} "
                     f"{('-' if c is None else f'{c:.1f}'):>18}  {stops}")
    per = summary.get("calls_per_base_prompt") or {}
    lines.append(f"calls per base prompt, all methods: {per.get('total')} (attacker {per.get('attacker')}, "
                 f"target {per.get('target')}, judge {per.get('judge')})")
    crit = summary.get("critic") or {}
    if crit.get("line"):
        lines.append(crit["line"])
    return "\n".join(lines)
