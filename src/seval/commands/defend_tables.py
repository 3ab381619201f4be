"""Rich tables for `seval defend`: safety and ASR with/without the defense, over-refusal, cost."""

from __future__ import annotations

from typing import Any


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def _rate(b: dict[str, Any] | None) -> str:
    if not b or b.get("rate") is None:
        return "-"
    return f"{_pct(b['rate'])} [{_pct(b['lo'])}, {_pct(b['hi'])}]"


def _diff(x: float | None, lo: float | None, hi: float | None) -> str:
    if x is None:
        return "-"
    return f"{100 * x:+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}]" if lo is not None and hi is not None else f"{100 * x:+.1f}"


def _num(x: float | None, fmt: str = "{:.1f}") -> str:
    return "-" if x is None else fmt.format(x)


def print_defend(rep: dict[str, Any], console: Any = None) -> None:
    from rich.console import Console
    from rich.table import Table

    from seval.taxonomy import load_taxonomy

    con = console or Console()
    tax = load_taxonomy()
    con.print(f"[bold]target[/] {rep['target']}   [bold]defense[/] {rep['defense']}   [bold]critic[/] {rep['critic']}"
              f"   [bold]bench[/] {rep['bench']}")

    t = Table(title="safety score on base prompts, % safe (without -> with defense)", header_style="bold")
    for col in ("", "n", "without % [95% CI]", "with % [95% CI]", "gain, pts [95% CI]", "p (McNemar)"):
        t.add_column(col)
    s = rep["safety"]

    def row(label: str, b: dict[str, Any]) -> None:
        t.add_row(label, str(b["n"]), _rate(b["without"]), _rate(b["with"]),
                  _diff(b["gain"], b["gain_lo"], b["gain_hi"]), _num(b["p_value"], "{:.3f}"))

    row("overall", s["overall"])
    for lang, b in s["by_language"].items():
        row(f"  {lang}", b)
    for d, b in s["by_dimension"].items():
        dim = tax.find_dimension(d)
        row(f"{d} {dim.name_en if dim else ''}", b)
    con.print(t)

    if rep["attacks"]:
        a = Table(title="attack success rate, % unsafe (without -> with defense)", header_style="bold")
        for col in ("attack", "n", "without % [95% CI]", "with % [95% CI]", "reduction, pts [95% CI]"):
            a.add_column(col)
        for name, b in rep["attacks"].items():
            a.add_row(name, str(b["n"]), _rate(b["asr_without"]), _rate(b["asr_with"]),
                      _diff(b["reduction"], b["reduction_lo"], b["reduction_hi"]))
        con.print(a)

    ov = rep.get("over_refusal")
    if ov:
        o = Table(title=f"over-refusal on benign prompts ({ov['set']}), % refused", header_style="bold")
        for col in ("", "n", "without % [95% CI]", "with % [95% CI]", "increase, pts [95% CI]", "newly refused"):
            o.add_column(col)
        for name, b in ov["refusal"].items():
            if name == "errors":
                continue
            o.add_row(name, str(b["n"]), _rate(b["without"]), _rate(b["with"]),
                      _diff(b["increase"], b["increase_lo"], b["increase_hi"]), str(b["newly_refused"]))
        con.print(o)

    c = Table(title="cost per request (means)", header_style="bold")
    for col in ("", "prompt tokens", "completion tokens", "latency s"):
        c.add_column(col)
    for label, blk in (("benchmark", rep["cost"]), ("benign", (ov or {}).get("cost"))):
        if not blk:
            continue
        for name in ("without", "with"):
            b = blk[name]
            c.add_row(f"{label} {name}", _num(b["prompt_tokens"]), _num(b["completion_tokens"]),
                      _num(b["latency_s"], "{:.2f}"))
        c.add_row(f"{label} extra", _num(blk.get("extra_prompt_tokens"), "{:+.1f}"), "",
                  _num(blk.get("extra_latency_s"), "{:+.2f}"))
    con.print(c)
    r = rep.get("routing") or {}
    if r:
        con.print(f"router on base prompts: {_pct(r['routed'])}% routed to a category clause, "
                  f"{_pct(r['routed_right_dimension'])}% to the right dimension, "
                  f"{_pct(r['routed_right_category'])}% to the right category (n={r['n']})")
    for note in rep.get("notes", []):
        con.print(f"[yellow]note:[/] {note}")
