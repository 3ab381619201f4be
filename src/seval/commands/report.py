"""`seval report RUN_DIR...`: HTML report, leaderboard and exports from run (and study) directories."""

from __future__ import annotations

import click


@click.command("report")
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--out", "-o", type=click.Path(dir_okay=False), default=None,
              help="Output file (default: report.<format> in the current directory).")
@click.option("--format", "fmt", type=click.Choice(["html", "json", "csv", "md"]), default=None,
              help="Output format (default: from --out's extension, else html).")
@click.option("--max-examples", type=int, default=None,
              help="Examples embedded in the HTML drill-down, over all runs (default 12000; 0 for none).")
@click.option("--print/--no-print", "show", default=False, help="Also print each run's summary tables.")
def report_cmd(run_dirs: tuple[str, ...], out: str | None, fmt: str | None, max_examples: int | None,
               show: bool) -> None:
    """Build one self-contained report (works offline) over RUN_DIRS; study directories add their sections.

    Runs are ranked by safety only against runs on the same benchmark file (same sha256).
    """
    import time
    from pathlib import Path

    from seval.report import build_report

    if fmt is None:
        ext = Path(out).suffix.lower().lstrip(".") if out else ""
        fmt = {"htm": "html", "markdown": "md"}.get(ext, ext) if ext in {"html", "htm", "json", "csv", "md", "markdown"} else "html"
    out = out or f"report.{fmt}"
    t0 = time.perf_counter()
    _, ctx = build_report(list(run_dirs), out=out, fmt=fmt, max_examples=max_examples)
    if show:
        from seval.commands.tables import print_summary

        for r in ctx["runs"]:
            print_summary(r.summary, title=r.label)
    for w in ctx["leaderboard"]["warnings"]:
        click.echo(f"warning: {w}", err=True)
    size = Path(out).stat().st_size
    human = f"{size / 1e6:.1f} MB" if size >= 1e5 else f"{size / 1e3:.1f} kB"
    n_red = len((ctx.get("redteam") or {}).get("rows") or [])
    red = f", {n_red} red-team folders" if n_red else ""
    click.echo(f"wrote {out} ({fmt}, {human}, {len(ctx['runs'])} runs, {ctx['n_rows']} rows{red}) "
               f"in {time.perf_counter() - t0:.1f} s")
