"""`seval bench stats FILE`: what a benchmark holds, checked before spending on a run."""

from __future__ import annotations

import json

import click

from seval.api import bench_stats, tag_bench


@click.group("bench")
def bench_group() -> None:
    """Inspect benchmark files."""


@bench_group.command("stats")
@click.argument("file")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--lang", type=click.Choice(["zh", "en"]), default=None)
@click.option("--tag", "tag", is_flag=True, help="Tag unlabelled cases with the risk tagger before counting.")
@click.option("--tagger", default=None, help="Tagger for --tag: embedded (default) or llm:<model string>.")
def stats_cmd(file: str, fmt: str, lang: str | None, tag: bool, tagger: str | None) -> None:
    """Counts per language, dimension, category and attack in FILE."""
    s = bench_stats(file, lang, tagger=(tagger or "embedded") if tag or tagger else None)
    if fmt == "json":
        click.echo(json.dumps(s, ensure_ascii=False, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    from seval.taxonomy import load_taxonomy

    tax = load_taxonomy()
    console = Console()
    console.print(f"[bold]{file}[/bold]: {s['total']} test cases; languages: "
                  + ", ".join(f"{k} {v}" for k, v in s["by_language"].items()))
    t = Table("dimension", "name", "cases")
    for k, v in s["by_dimension"].items():
        d = tax.find_dimension(k)
        t.add_row(k, d.name_en if d else "", str(v))
    console.print(t)
    t = Table("attack", "cases")
    for k, v in s["by_attack"].items():
        t.add_row(k, str(v))
    console.print(t)


@bench_group.command("tag")
@click.argument("file")
@click.option("--out", "out", required=True, help="Output file: seval JSONL (.jsonl), or .csv / .parquet by suffix.")
@click.option("--tagger", default=None, help="embedded (default) or llm:<model string>.")
@click.option("--overwrite", is_flag=True, help="Re-tag rows that already carry labels (default: keep them).")
@click.option("--lang", type=click.Choice(["zh", "en"]), default=None, help="Only this language.")
def tag_cmd(file: str, out: str, tagger: str | None, overwrite: bool, lang: str | None) -> None:
    """Fill dimension, category and risk of every prompt in FILE (S-Eval files, seval JSONL, CSV with a
    `prompt` column) with taxonomy ids; the tagger's scores go to meta.tagger."""
    res = tag_bench(file, out, tagger, overwrite=overwrite, lang=lang)
    click.echo(f"{out}: {res['cases']} cases ({res['tagged']} tagged, {res['kept']} kept their labels); by dimension: "
               + ", ".join(f"{d} {k}" for d, k in res["by_dimension"].items()))
