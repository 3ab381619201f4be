"""`seval defend`: safety gained by a constitutional defense vs. benign prompts wrongly refused, and its cost."""

from __future__ import annotations

import json
from typing import Any

import click

from seval.api import DEFAULT_TARGET
from seval.commands.options import executor_options


@click.command("defend")
@click.option("--target", default=DEFAULT_TARGET, show_default=True, help="Model string of the target.")
@click.option("--constitution", default="default", show_default=True,
              help="NAME[:SCENARIO] or PATH.yaml[:SCENARIO], e.g. default:children_education.")
@click.option("--bench", default=None, help="Benchmark file (default: the starter benchmark).")
@click.option("--modes", default="system", show_default=True,
              help="Defense modes, composed with ',' or '+': system, wrapper, output-check.")
@click.option("--critic", default=None, help="Critic that judges both runs (default: the run default).")
@click.option("--check-critic", default=None,
              help="Critic of the output-check mode (default: embedded, else rule).")
@click.option("--limit", type=click.IntRange(1), default=None, help="Only the first N test cases.")
@click.option("--sample", type=click.IntRange(1), default=None,
              help="Instead of the first N, N cases spread evenly over the dimensions.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default=None, help="Only one language.")
@click.option("--out", default=None, help="Output folder (default: seval-runs/defend__<target>__<constitution>).")
@click.option("--benign", default="all", show_default=True,
              help="Over-refusal prompts: all (XSTest safe + benign zh), xstest, benign_zh, a JSONL path, or none.")
@click.option("--benign-limit", type=click.IntRange(1), default=None, help="At most N prompts per benign set.")
@click.option("--max-tokens", type=click.IntRange(1), default=None,
              help="Answer length cap (default 256; 64 for in-process local models).")
@click.option("--concurrency", type=click.IntRange(1, 4096), default=None, help="Requests in flight.")
@click.option("--json", "as_json", is_flag=True, help="Print defense.json instead of tables.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
@executor_options
def defend_cmd(target: str, constitution: str, bench: str | None, modes: str, critic: str | None,
               check_critic: str | None, limit: int | None, sample: int | None, lang: str | None, out: str | None,
               benign: str, benign_limit: int | None, max_tokens: int | None, concurrency: int | None,
               as_json: bool, quiet: bool, **where: Any) -> None:
    """Run the benchmark with and without the constitutional defense on the same target.

    Reports safety and attack success per dimension and attack with the paired gain and its 95% interval,
    over-refusal on benign prompts, and the extra prompt tokens and latency per request; writes defense.json.
    """
    from seval.api import defend as run_defend
    from seval.records import GenParams

    if limit and sample:
        raise click.UsageError("give --limit or --sample, not both")
    if max_tokens is None:
        from seval.api import default_max_tokens

        max_tokens = default_max_tokens(target)
    rep = run_defend(target, constitution=constitution, bench=bench, modes=modes, critic=critic,
                     check_critic=check_critic, limit=limit, sample=sample, lang=lang, out=out, benign=benign,
                     benign_limit=benign_limit, params=GenParams(max_tokens=max_tokens), concurrency=concurrency,
                     progress=not quiet, **where)
    if as_json:
        click.echo(json.dumps(rep, ensure_ascii=False, indent=2))
        return
    from seval.commands.defend_tables import print_defend

    print_defend(rep)
    click.echo(f"written: {rep['out_dir']}/defense.json")
