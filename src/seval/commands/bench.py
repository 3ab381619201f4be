"""`seval bench stats FILE`: what a benchmark holds, checked before spending on a run."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import click


def bench_stats(path: str, lang: str | None = None) -> dict[str, Any]:
    """Counts per language, dimension, category and attack, read in one streaming pass."""
    from seval.io import read_cases

    by_lang: Counter[str] = Counter()
    by_dim: Counter[str] = Counter()
    by_cat: Counter[str] = Counter()
    by_attack: Counter[str] = Counter()
    linked = 0
    total = 0
    for c in read_cases(path, lang=lang):
        total += 1
        by_lang[c.lang] += 1
        by_dim[c.dimension or "unknown"] += 1
        if c.category:
            by_cat[c.category] += 1
        by_attack[c.attack or "base"] += 1
        linked += bool(c.from_id)
    return {"file": path, "total": total, "by_language": dict(by_lang), "by_dimension": dict(sorted(by_dim.items())),
            "by_category": dict(sorted(by_cat.items())), "by_attack": dict(sorted(by_attack.items())),
            "en_linked_to_zh": linked}


@click.group("bench")
def bench_group() -> None:
    """Inspect benchmark files."""


@bench_group.command("stats")
@click.argument("file")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--lang", type=click.Choice(["zh", "en"]), default=None)
def stats_cmd(file: str, fmt: str, lang: str | None) -> None:
    """Counts per language, dimension, category and attack in FILE."""
    s = bench_stats(file, lang)
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
