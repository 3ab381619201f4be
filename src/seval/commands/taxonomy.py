"""`seval taxonomy`: the risk tree as a tree or as JSON."""

from __future__ import annotations

import json
from typing import Any

import click

#: the fields of the other language, dropped by --lang en / --lang zh
_OTHER = {"en": ("name_zh", "scope_zh"), "zh": ("name_en", "scope")}


def only_lang(data: Any, lang: str) -> Any:
    """The taxonomy dict with only `lang`'s names and scopes (both: unchanged)."""
    drop = _OTHER.get(lang, ())
    if isinstance(data, dict):
        return {k: only_lang(v, lang) for k, v in data.items() if k not in drop}
    if isinstance(data, list):
        return [only_lang(v, lang) for v in data]
    return data


@click.command("taxonomy")
@click.option("--format", "fmt", type=click.Choice(["tree", "json"]), default="tree", show_default=True)
@click.option("--lang", type=click.Choice(["en", "zh", "both"]), default="both", show_default=True)
@click.option("--scope", is_flag=True, help="Show each risk's scope.")
def taxonomy_cmd(fmt: str, lang: str, scope: bool) -> None:
    """Print the risk taxonomy: 8 dimensions > 25 categories > fine-grained risks."""
    from seval.taxonomy import load_taxonomy

    tax = load_taxonomy()
    if fmt == "json":
        click.echo(json.dumps(only_lang(tax.to_dict(), lang), ensure_ascii=False, indent=2))
        return
    from rich.console import Console
    from rich.tree import Tree

    def label(node_id: str, en: str, zh: str) -> str:
        name = {"en": en, "zh": zh}.get(lang, f"{en} / {zh}")
        return f"[bold]{node_id}[/bold]  {name}"

    root = Tree(f"S-Eval risk taxonomy: {len(tax.dimensions)} dimensions, {len(tax.categories)} categories, "
                f"{len(tax.risks)} risks")
    for d in tax.dimensions:
        dn = root.add(label(d.id, d.name_en, d.name_zh))
        for c in d.categories:
            cn = dn.add(label(c.id, c.name_en, c.name_zh))
            for r in c.risks:
                rn = cn.add(label(r.id, r.name_en, r.name_zh))
                if scope:
                    rn.add(f"[dim]{r.scope_zh if lang == 'zh' else r.scope}[/dim]")
    Console(soft_wrap=True).print(root)
