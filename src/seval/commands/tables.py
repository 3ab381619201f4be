"""Terminal tables of a run summary (`seval run`, `seval report` without --out): the CLI layer's rendering.

Next to the safety scores: the critic's measured accuracy (or that it was never validated), the non-answer,
uncertain and escalated counts, and the model calls per role when the call policy counted them.
"""

from __future__ import annotations

from typing import Any

from seval.metrics.render import fmt_rate, pct


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
    flags = summary.get("flags") or {}
    for key, name in (("non_answer", "non-answers (empty, echo, loop, gibberish, cut off)"),
                      ("uncertain", "uncertain verdicts"), ("escalated", "escalated verdicts")):
        f = flags.get(key)
        if f is not None:
            head.add_row(name, f"{f['count']}" + (f" ({pct(f['share'])}%)" if f.get("share") is not None else ""),
                         str(f.get("of", "")))
    head.add_row("rows", f"{c['total']} ({c['base']} base, {c['attack']} attack)", "")
    con.print(head)
    critic = summary.get("critic")
    if critic and critic.get("line"):
        style = "" if critic.get("validation") else "yellow"
        con.print(f"[{style}]{critic['line']}[/{style}]" if style else critic["line"], highlight=False)
    if summary.get("audit"):
        from seval.commands.audit_tables import print_audit

        print_audit(summary["audit"], summary, con)
    roles = summary.get("calls_by_role")
    if roles:
        con.print("calls by role: " + ", ".join(f"{k} {_calls(v)}" for k, v in roles.items()), highlight=False)

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


def _calls(v: Any) -> str:
    if isinstance(v, dict):
        return ", ".join(f"{k}={x}" for k, x in v.items() if isinstance(x, int | float))
    return str(v)
