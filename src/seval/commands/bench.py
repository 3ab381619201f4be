"""`seval bench stats FILE`: what a benchmark holds, checked before spending on a run."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import click


def bench_stats(path: str, lang: str | None = None, tagger: str | None = None) -> dict[str, Any]:
    """Counts per language, dimension, category and attack, read in one streaming pass; with `tagger`, cases
    without labels are tagged first (their counts then come from the tagger's predictions)."""
    from seval.io import read_cases

    cases: Any = read_cases(path, lang=lang)
    if tagger:
        from seval.tagger import tag_cases

        cases = tag_cases(list(cases), tagger)
    by_lang: Counter[str] = Counter()
    by_dim: Counter[str] = Counter()
    by_cat: Counter[str] = Counter()
    by_attack: Counter[str] = Counter()
    linked = 0
    total = 0
    for c in cases:
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
    from pathlib import Path

    from seval.errors import SevalError
    from seval.io import read_cases, write_cases
    from seval.tagger import tag_cases

    if Path(out).resolve() == Path(file).resolve():
        raise SevalError(f"--out {out} is the input file; write the tagged copy elsewhere")
    cases = list(read_cases(file, lang=lang))
    before = sum(1 for c in cases if c.dimension and c.category and c.risk)
    tag_cases(cases, tagger, overwrite=overwrite)
    n = write_cases(out, cases)
    dims = Counter(c.dimension for c in cases)
    click.echo(f"{out}: {n} cases ({n - before if not overwrite else n} tagged, "
               f"{0 if overwrite else before} kept their labels); by dimension: "
               + ", ".join(f"{d} {k}" for d, k in sorted(dims.items(), key=lambda kv: str(kv[0]))))
