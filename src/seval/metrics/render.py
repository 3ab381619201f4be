"""Rates as text: the formatting shared by the terminal tables (seval.commands) and the reports."""

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
