"""Inline SVG charts generated in Python: no JavaScript or external library needed to draw them.

Every label is escaped here (model names and ids come from files the user did not necessarily write).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7",
           "#9c755f", "#bab0ac"]


@dataclass(slots=True)
class Series:
    """One bar series: a name and one (rate, lo, hi, n) per category (rate None when there is no data)."""

    name: str
    values: list[float | None]
    lo: list[float | None]
    hi: list[float | None]
    n: list[int]


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{100 * v:.1f}%"


def _legend(series: Sequence[Series], x0: int, y0: int, width: int) -> tuple[list[str], int]:
    parts, x, y = [], x0, y0
    for i, s in enumerate(series):
        w = 22 + 7 * min(len(s.name), 40)
        if x + w > width and x > x0:
            x, y = x0, y + 18
        color = PALETTE[i % len(PALETTE)]
        parts.append(f'<rect x="{x}" y="{y - 10}" width="12" height="12" fill="{color}"/>'
                     f'<text x="{x + 16}" y="{y}" class="lg">{escape(s.name[:40])}</text>')
        x += w
    return parts, y + 14


def grouped_bars(categories: Sequence[str], series: Sequence[Series], title: str, css_class: str = "chart",
                 cat_titles: Sequence[str] | None = None, higher_is: str = "safer") -> Markup:
    """Vertical grouped bars (one group per category, one bar per series) with 95% CI whiskers, 0-100%."""
    n_cat, n_ser = max(1, len(categories)), max(1, len(series))
    bw = max(4, min(22, 120 // n_ser))
    gw = bw * n_ser + 14
    left, plot_h = 44, 220
    width = max(520, left + gw * n_cat + 20)
    legend, top = _legend(series, left, 34, width)
    top += 6
    height = top + plot_h + 70
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="{css_class}" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
           f'<text x="{left}" y="16" class="ttl">{escape(title)}</text>', *legend]
    for t in range(0, 101, 25):
        y = top + plot_h - plot_h * t / 100
        out.append(f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
                   f'<text x="{left - 6}" y="{y + 4:.1f}" class="ax" text-anchor="end">{t}</text>')
    for ci, cat in enumerate(categories):
        gx = left + 8 + ci * gw
        for si, s in enumerate(series):
            v = s.values[ci]
            x = gx + si * bw
            if v is None:
                continue
            h = plot_h * v
            tip = f"{s.name} / {cat}: {_pct(v)} [{_pct(s.lo[ci])}, {_pct(s.hi[ci])}], n={s.n[ci]}"
            out.append(f'<rect x="{x}" y="{top + plot_h - h:.1f}" width="{bw - 2}" height="{max(h, 0.5):.1f}" '
                       f'fill="{PALETTE[si % len(PALETTE)]}"><title>{escape(tip)}</title></rect>')
            lo, hi = s.lo[ci], s.hi[ci]
            if lo is not None and hi is not None:
                cx = x + (bw - 2) / 2
                out.append(f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{top + plot_h - plot_h * hi:.1f}" '
                           f'y2="{top + plot_h - plot_h * lo:.1f}" class="ci"/>')
        label = cat if len(cat) <= 14 else cat[:13] + "…"
        full = (cat_titles[ci] if cat_titles else cat)
        lx = gx + (bw * n_ser) / 2
        out.append(f'<text x="{lx:.1f}" y="{top + plot_h + 14}" class="ax" text-anchor="end" '
                   f'transform="rotate(-35 {lx:.1f} {top + plot_h + 14})">{escape(label)}'
                   f'<title>{escape(full)}</title></text>')
    out.append(f'<text x="{width - 10}" y="{height - 4}" class="ax" text-anchor="end">'
               f'% ({escape(higher_is)} is higher); whiskers: 95% CI</text></svg>')
    return Markup("".join(out))


def _heat_color(v: float | None) -> str:
    """Red (0%) through yellow to green (100%)."""
    if v is None:
        return "#eeeeee"
    v = min(1.0, max(0.0, v))
    if v < 0.5:
        r, g = 230, int(80 + 2 * v * 150)
    else:
        r, g = int(230 - (v - 0.5) * 2 * 170), 200
    return f"rgb({r},{g},90)"


def heatmap(rows: Sequence[str], cols: Sequence[str], values: Sequence[Sequence[float | None]],
            ns: Sequence[Sequence[int]], title: str, col_titles: Sequence[str] | None = None) -> Markup:
    """A rows x cols grid of rates (e.g. model x category safety), each cell coloured and labelled."""
    cw, ch, left, top = 46, 24, 10 + min(260, 7 * max((len(r) for r in rows), default=4)), 120
    width = left + cw * max(1, len(cols)) + 20
    height = top + ch * max(1, len(rows)) + 20
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart heat" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
           f'<text x="10" y="16" class="ttl">{escape(title)}</text>']
    for ci, col in enumerate(cols):
        x = left + ci * cw + cw / 2
        full = col_titles[ci] if col_titles else col
        label = col if len(col) <= 16 else col[:15] + "…"
        out.append(f'<text x="{x:.1f}" y="{top - 6}" class="ax" transform="rotate(-50 {x:.1f} {top - 6})">'
                   f'{escape(label)}<title>{escape(full)}</title></text>')
    for ri, row in enumerate(rows):
        y = top + ri * ch
        out.append(f'<text x="{left - 6}" y="{y + ch / 2 + 4:.1f}" class="ax" text-anchor="end">'
                   f'{escape(row[:40])}</text>')
        for ci, col in enumerate(cols):
            v = values[ri][ci]
            x = left + ci * cw
            tip = f"{row} / {col_titles[ci] if col_titles else col}: {_pct(v)} (n={ns[ri][ci]})"
            out.append(f'<rect x="{x}" y="{y}" width="{cw - 2}" height="{ch - 2}" fill="{_heat_color(v)}">'
                       f'<title>{escape(tip)}</title></rect>')
            if v is not None:
                out.append(f'<text x="{x + (cw - 2) / 2:.1f}" y="{y + ch / 2 + 3:.1f}" class="cell" '
                           f'text-anchor="middle">{100 * v:.0f}</text>')
    out.append("</svg>")
    return Markup("".join(out))
