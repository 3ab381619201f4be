"""Reports over run directories: a self-contained HTML page, a leaderboard, and JSON/CSV/Markdown exports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from seval.errors import SevalError

FORMATS = ("html", "json", "csv", "md")


def _decoding_chart(study: dict[str, Any]) -> Any:
    from seval.report import charts

    pts = study.get("points") or []
    if not pts:
        return None
    cats = [f"T={p['temperature']} p={p['top_p']}" for p in pts]
    ser = [charts.Series(name, [(p.get(key) or {}).get("rate") for p in pts], [(p.get(key) or {}).get("lo") for p in pts],
                         [(p.get(key) or {}).get("hi") for p in pts], [(p.get(key) or {}).get("n", 0) for p in pts])
           for name, key in (("safety", "safety"), ("mean ASR", "mean_asr"), ("adaptive ASR", "adaptive"))]
    return charts.grouped_bars(cats, ser, "Decoding grid: safety and attack success", higher_is="value")


def build_report(paths: list[str | Path], out: str | Path | None = None, fmt: str = "html",
                 max_examples: int | None = None) -> tuple[str, dict[str, Any]]:
    """Build the report text in `fmt` (and write it to `out` when given); returns (text, context)."""
    from seval.report.build import (
        DEFAULT_MAX_EXAMPLES,
        _taxonomy,
        build_context,
        examples_payload,
        load_all,
    )

    if fmt not in FORMATS:
        raise SevalError(f"unknown report format {fmt!r}; valid: {', '.join(FORMATS)}")
    cap = DEFAULT_MAX_EXAMPLES if max_examples is None else max_examples
    if cap < 0:
        raise SevalError("--max-examples must be >= 0")
    tax = _taxonomy()
    runs, studies, redteams = load_all(paths, max_examples=cap if fmt == "html" else 0, taxonomy=tax)
    ctx = build_context(runs, studies, taxonomy=tax, redteams=redteams)
    if fmt == "html":
        from seval.report.html import render_html

        ctx["studies"] = [dict(s, chart=_decoding_chart(s)) if s.get("study") == "decoding" else s for s in studies]
        text = render_html(ctx, examples_payload(runs, redteams))
    else:
        from seval.report import export

        text = {"json": export.to_json, "csv": export.to_csv, "md": export.to_markdown}[fmt](ctx)
    if out is not None:
        p = Path(out)
        p.parent.mkdir(parents=True, exist_ok=True)
        with p.open("w", encoding="utf-8", errors="replace", newline="") as fh:
            fh.write(text)
    return text, ctx
