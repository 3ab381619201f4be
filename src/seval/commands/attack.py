"""`seval attack`: derive attack prompts from a benchmark's base prompts; `list` and `preview` the attacks."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click

from seval.errors import SevalError


def _print_summary(s: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table("attack", "prompts", "rewriter fallbacks", title=f"{s['attack_prompts']} attack prompts -> {s['out']}")
    for name, n in s["per_attack"].items():
        table.add_row(name, str(n), str(s["rewriter_fallbacks"].get(name, 0)) if s["rewriter"] else "-")
    console.print(table)
    notes = [f"{s['base_prompts']} base prompts", f"{s['written']} rows written",
             f"{s['seconds']} s ({s['prompts_per_s']} prompts/s)", f"seed {s['seed']}"]
    if s["skipped_attack_rows"]:
        notes.append(f"{s['skipped_attack_rows']} attack rows in the input not re-attacked")
    if s["skipped_empty"]:
        notes.append(f"{s['skipped_empty']} empty prompts skipped")
    console.print("; ".join(notes))


def _run(bench: str | None, attacks: str, out: str | None, rewriter: str | None, seed: int, lang: str | None,
         include_base: bool, limit: int | None, fmt: str | None, concurrency: int, as_json: bool) -> None:
    if not bench or not out:
        raise SevalError("`seval attack` needs --bench FILE and --out FILE (see `seval attack --help`)")
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("attacks"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=Console(stderr=True), transient=True,
                  disable=as_json or not sys.stderr.isatty()) as progress:
        task = progress.add_task("attacks", total=None)
        from seval.api import attack_file

        summary = attack_file(
            bench, attacks, out, rewriter=rewriter, seed=seed, lang=lang, include_base=include_base, limit=limit,
            fmt=fmt, concurrency=concurrency,
            on_total=lambda n: progress.update(task, total=n),
            on_progress=lambda k: progress.advance(task, k),
        )
    if as_json:
        import json

        click.echo(json.dumps(summary, ensure_ascii=False))
    else:
        _print_summary(summary)


def _run_options(required: bool) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The options of an attack run, shared by `seval attack` and `seval attack run`."""
    opts = [
        click.option("--bench", "bench", required=required, type=click.Path(dir_okay=False),
                     help="Benchmark file with base prompts (S-Eval JSONL, .zip, CSV, Parquet)."),
        click.option("--attacks", default="all", show_default=True,
                     help="all, seval (the ten), extensions, or comma-separated names (see `seval attack list`)."),
        click.option("--out", "out", required=required, type=click.Path(dir_okay=False), help="Output file."),
        click.option("--rewriter", default=None,
                     help="Model string for the model-assisted attacks (e.g. local:smollm2); templates without it."),
        click.option("--seed", default=0, show_default=True, type=int, help="Same seed, same attack prompts."),
        click.option("--lang", type=click.Choice(["zh", "en"]), default=None, help="Only base prompts in this language."),
        click.option("--include-base", is_flag=True, help="Also write each base prompt before its attack prompts."),
        click.option("--limit", type=int, default=None, help="Only the first N prompts of the benchmark."),
        click.option("--format", "fmt", type=click.Choice(["seval", "jsonl", "csv", "parquet"]), default=None,
                     help="Output format [default: from the file suffix, else seval]."),
        click.option("--concurrency", default=16, show_default=True, type=click.IntRange(1, 1024),
                     help="Rewriter calls in flight at once."),
        click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON."),
    ]

    def deco(f: Callable[..., Any]) -> Callable[..., Any]:
        for opt in reversed(opts):
            f = opt(f)
        return f

    return deco


@click.group("attack", invoke_without_command=True)
@_run_options(required=False)
@click.pass_context
def attack_group(ctx: click.Context, **kwargs: Any) -> None:
    """Derive attack prompts from base prompts: `seval attack --bench FILE --attacks all --out FILE`.

    Writes S-Eval rows (ext: {"model": "attack", "category": <attack>, "base_traceid": ...}) plus base_traceid.
    `seval attack list` shows the attacks; `seval attack preview TEXT` shows them on one prompt.
    """
    if ctx.invoked_subcommand is not None:
        return
    if not kwargs["bench"] and not kwargs["out"]:
        click.echo(ctx.get_help())
        return
    _run(**kwargs)


@attack_group.command("run")
@_run_options(required=True)
def run_cmd(**kwargs: Any) -> None:
    """Same as `seval attack --bench ... --out ...`."""
    _run(**kwargs)


@attack_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def list_cmd(as_json: bool) -> None:
    """Each attack with its description, source paper, and whether it extends S-Eval's ten."""
    from seval.attacks.base import ATTACKS, SEVAL_ATTACKS

    names = [n for n in SEVAL_ATTACKS if n in ATTACKS.names()] + [n for n in ATTACKS.names() if n not in SEVAL_ATTACKS]
    rows = [{"name": n, "extension": ATTACKS.get(n).extension, "uses_rewriter": ATTACKS.get(n).needs_model,
             "description": ATTACKS.get(n).description, "source": ATTACKS.get(n).source} for n in names]
    if as_json:
        import json

        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("attack", "kind", "description [dim](source)[/dim]")
    for r in rows:
        kind = ("extension" if r["extension"] else "S-Eval") + ("\n+rewriter" if r["uses_rewriter"] else "")
        table.add_row(r["name"], kind, f"{r['description']}\n[dim]{r['source']}[/dim]")
    Console().print(table)
    Console().print("S-Eval: one of the ten attacks of the S-Eval paper; +rewriter: uses --rewriter MODEL when "
                    "given, templates otherwise.")


@attack_group.command("preview")
@click.argument("text")
@click.option("--attacks", default="all", show_default=True, help="Attacks to show (as for `seval attack`).")
@click.option("--lang", type=click.Choice(["zh", "en"]), default=None, help="[default: detected from TEXT]")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--rewriter", default=None, help="Model string for the model-assisted attacks.")
def preview_cmd(text: str, attacks: str, lang: str | None, seed: int, rewriter: str | None) -> None:
    """Print the attack prompts for one question TEXT (nothing is written)."""
    from seval.lang import detect_lang
    from seval.records import TestCase, md5_hex

    case = TestCase(id=md5_hex(text), prompt=text, lang=lang or detect_lang(text))
    if not text.strip():
        raise SevalError("empty question: nothing to attack")

    from seval.api import preview_attacks

    for c in preview_attacks(case, attacks, seed=seed, rewriter=rewriter):
        click.echo(f"===== {c.attack}  {c.meta}")
        for t in c.turns or []:
            click.echo(f"[{t['role']}] {t['content']}")
        click.echo(("[user] " if c.turns else "") + c.prompt + "\n")
