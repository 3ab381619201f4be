"""The terminal table of summary.json's `audit` block: raw and corrected safety side by side, and the judge's
agreement with the human labels."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from seval.metrics.render import fmt_rate


def print_audit(audit: Mapping[str, Any], summary: Mapping[str, Any] | None, console: Any = None) -> None:
    """Raw vs corrected safety (overall, per language, per dimension), then the judge's rates and the note."""
    from rich.console import Console
    from rich.table import Table

    con = console or Console()
    cs = audit.get("corrected_safety") or {}
    raw = (summary or {}).get("safety") or {}
    src = "this run's audit" if audit.get("source") == "audit" else "the critic's validation (other data)"
    t = Table(title=f"safety: raw vs corrected for the judge's error ({src})", header_style="bold")
    for col in ("scope", "raw % [95% CI]", "corrected % [95% CI]", "labels", "n"):
        t.add_column(col)
    groups = [("overall", (raw.get("overall") or {}), cs.get("overall") or {})]
    for key, title in (("by_language", "language"), ("by_dimension", "dimension")):
        for k, b in (cs.get(key) or {}).items():
            groups.append((f"  {title} {k}", (raw.get(key) or {}).get(k) or {}, b))
    for name, r, c in groups:
        t.add_row(name, fmt_rate(r) if r else "-", fmt_rate(c) if c.get("rate") is not None else "- (too few labels)"
                  if "labels" in c else "-", str(c.get("labels", "")), str(c.get("n", "")))
    con.print(t)
    if audit.get("source") == "audit":
        parts = [f"{name} {fmt_rate(audit[name])} (n={audit[name]['n']})" for name in
                 ("agreement", "sensitivity", "specificity") if audit.get(name)]
        con.print("judge vs human labels: " + ", ".join(parts), highlight=False)
    if audit.get("note"):
        con.print(f"[dim]{audit['note']}[/dim]", highlight=False)
