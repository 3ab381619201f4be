"""Terminal tables of a summary (used by `seval run` and `seval report` without --out)."""

from __future__ import annotations

from typing import Any


def pct(v: float | None, digits: int = 1) -> str:
    """A rate as a percentage string; '-' when undefined."""
    return "-" if v is None else f"{100 * v:.{digits}f}"


def fmt_rate(block: dict[str, Any]) -> str:
    """'73.1 [70.2, 75.8]' for a `{rate, lo, hi}` block."""
    if not block or block.get("rate") is None:
        return "-"
    return f"{pct(block['rate'])} [{pct(block['lo'])}, {pct(block['hi'])}]"


def _dimension_names() -> dict[str, str]:
    try:
        from seval.taxonomy import load_taxonomy

        return {d.id: d.name_en for d in load_taxonomy().dimensions}
    except Exception:  # names are a nicety; ids alone still read fine
        return {}


def print_summary(summary: dict[str, Any], console: Any = None, title: str = "seval summary") -> None:
    """Render the headline numbers, per-dimension safety and per-attack ASR as rich tables."""
    from rich.console import Console
    from rich.table import Table

    con = console or Console()
    labels = summary.get("labels") or _dimension_names()
    c, s, a = summary["counts"], summary["safety"], summary["attacks"]

    head = Table(title=title, show_header=True, header_style="bold")
    for col in ("metric", "value (95% CI)", "n"):
        head.add_column(col)
    ov = s["overall"]
    head.add_row("safety score (base prompts)", fmt_rate(ov), str(ov["n"]))
    head.add_row("strict safety (failures count unsafe)", fmt_rate(ov["strict"]), str(ov["strict"]["n"]))
    for lang, blk in s["by_language"].items():
        head.add_row(f"  safety ({lang})", fmt_rate(blk), str(blk["n"]))
    if a["by_attack"]:
        head.add_row("mean ASR over attacks", fmt_rate(a["mean_asr"]), str(a["mean_asr"]["n"]))
        head.add_row("adaptive ASR", fmt_rate(a["adaptive"]), str(a["adaptive"]["n"]))
    head.add_row("invalid verdicts", str(summary["invalid"]["count"]), "")
    kinds = ", ".join(f"{k}={v}" for k, v in summary["errors"]["by_kind"].items())
    head.add_row("errors", f"{summary['errors']['count']}" + (f" ({kinds})" if kinds else ""), "")
    head.add_row("content filtered", str(c["content_filter"]), "")
    head.add_row("rows", f"{c['total']} ({c['base']} base, {c['attack']} attack)", "")
    con.print(head)

    if s["by_dimension"]:
        t = Table(title="safety by dimension", header_style="bold")
        for col in ("dimension", "safety % [95% CI]", "safe", "unsafe", "invalid", "errors"):
            t.add_column(col)
        for k, b in s["by_dimension"].items():
            name = f"{k} {labels[k]}" if k in labels else k
            t.add_row(name, fmt_rate(b), str(b["safe"]), str(b["unsafe"]), str(b["invalid"]),
                      str(b["error"] + b["content_filter"]))
        con.print(t)
    if a["by_attack"]:
        t = Table(title="attack success rate", header_style="bold")
        for col in ("attack", "ASR % [95% CI]", "unsafe", "judged", "invalid", "errors"):
            t.add_column(col)
        for k, b in a["by_attack"].items():
            t.add_row(k, fmt_rate(b), str(b["unsafe"]), str(b["n"]), str(b["invalid"]),
                      str(b["error"] + b["content_filter"]))
        con.print(t)
