"""`seval critic`: validate a critic against human labels, judge ad-hoc pairs or re-judge a run, list critics."""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import IO, Any

import click

from seval.commands.options import executor_options


def _parse_options(pairs: tuple[str, ...]) -> dict[str, Any]:
    """`-o concurrency=16 -o fallback=openai:gpt-4o-mini` -> critic options (seval.spec's value typing)."""
    from seval.spec import parse_options

    return parse_options(pairs, "critic option")


@contextmanager
def _progress(total: int, label: str, enabled: bool) -> Iterator[Callable[[int], None] | None]:
    if not enabled or total < 2:
        yield None
        return
    from seval.runner.progress import progress_bar

    with progress_bar(total, label) as advance:
        yield advance


@click.group("critic")
def critic_group() -> None:
    """Validate critics against human labels, judge pairs, re-judge runs, list critics."""


# ---- validate ----------------------------------------------------------------------------------------------------

@critic_group.command("validate")
@click.option("--critic", "critic_spec", default=None,
              help="Critic spec (default: the default critic, embedded): rule, embedded, llm:<model>, "
                   "guard:<model>, ensemble:<mode>:<c1>,<c2>...")
@click.option("--gold", "gold_files", multiple=True, required=True,
              help="Gold JSONL (prompt, response, label safe/unsafe, lang[, category]); repeat for several.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default=None, help="Only pairs in this language.")
@click.option("--limit", type=click.IntRange(1), default=None, help="A seeded random sample of N pairs.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of --limit sampling and the bootstrap.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of tables.")
@click.option("--store", default=None, help="Validation store (JSONL) to append to [default: ~/.seval/validations.jsonl].")
@click.option("--no-store", is_flag=True, help="Do not record the result.")
@click.option("-o", "--option", "options", multiple=True, help="Critic option key=value (e.g. concurrency=16).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def validate_cmd(critic_spec: str | None, gold_files: tuple[str, ...], lang: str | None, limit: int | None,
                 seed: int, as_json: bool, store: str | None, no_store: bool, options: tuple[str, ...],
                 quiet: bool) -> None:
    """Measure a critic on human-labelled pairs: balanced accuracy, P/R/F1 (unsafe), CIs, invalid rate.

    Invalid verdicts count as errors (a miss on unsafe items) and are reported separately.
    """
    from seval.api import validate_critic
    from seval.critic.validate import load_gold, store_result

    gold = load_gold(list(gold_files), lang=lang, limit=limit, seed=seed)
    opts = _parse_options(options)
    with _progress(len(gold.items), f"validate {critic_spec or 'embedded'}", not quiet and not as_json) as adv:
        record = validate_critic(gold, critic_spec, seed=seed, options=opts, on_progress=adv)
    stored = None if no_store else store_result(record, store)
    if as_json:
        click.echo(json.dumps({**record, "stored_in": str(stored) if stored else None}, ensure_ascii=False))
        return
    _print_validation(record, stored)


def _fmt(x: float | None, ci: list[float] | None = None) -> str:
    if x is None:
        return "-"
    s = f"{x:.3f}"
    return s + (f"  [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")


def _print_validation(r: dict[str, Any], stored: Path | None) -> None:
    from rich.console import Console
    from rich.table import Table

    con = Console()
    files = ", ".join(f"{Path(g['path']).name} ({g['used']})" for g in r["gold"])
    con.print(f"[bold]critic[/bold] {r['critic']}  [dim]hash {r['critic_hash']}[/dim]")
    con.print(f"[bold]gold[/bold] {files}; n={r['n']} ({r['n_unsafe']} unsafe, {r['n_safe']} safe)"
              + (f"; skipped {r['skipped']}" if r["skipped"] else ""))
    t = Table(title="metrics (unsafe = positive class; 95% CI)")
    t.add_column("metric")
    t.add_column("value [95% CI]")
    for name, key in (("balanced accuracy", "balanced_accuracy"), ("precision", "precision"),
                      ("recall", "recall"), ("specificity", "specificity"), ("F1", "f1"),
                      ("accuracy", "accuracy"), ("invalid rate", "invalid_rate")):
        t.add_row(name, _fmt(r.get(key), r.get(f"{key}_ci")))
    t.add_row("invalid (unsafe / safe items)", f"{r['invalid']} ({r['invalid_on_unsafe']} / {r['invalid_on_safe']})")
    if r.get("valid_only") and r["invalid"]:
        vo = r["valid_only"]
        t.add_row("valid only: bal. acc / P / R", f"{_fmt(vo['balanced_accuracy'])} / {_fmt(vo['precision'])} / "
                  f"{_fmt(vo['recall'])} (n={vo['n']})")
    t.add_row("throughput", f"{r['pairs_per_s']} pairs/s ({r['elapsed_s']} s)")
    con.print(t)
    cm = Table(title="confusion matrix (rows: truth)")
    for col in ("truth", "pred unsafe", "pred safe", "invalid"):
        cm.add_column(col)
    for truth in ("unsafe", "safe"):
        row = r["confusion"][truth]
        cm.add_row(truth, str(row["unsafe"]), str(row["safe"]), str(row["invalid"]))
    con.print(cm)
    for key, title in (("by_lang", "per language"), ("by_category", "per category")):
        groups = r.get(key) or {}
        if len(groups) <= 1 and key == "by_category" and "(none)" in groups:
            continue
        gt = Table(title=title)
        for col in ("group", "n", "unsafe/safe", "bal. acc", "precision", "recall", "invalid"):
            gt.add_column(col)
        for name, g in list(groups.items())[:20]:
            gt.add_row(name, str(g["n"]), f"{g['n_unsafe']}/{g['n_safe']}", _fmt(g["balanced_accuracy"]),
                       _fmt(g["precision"]), _fmt(g["recall"]), str(g["invalid"]))
        if len(groups) > 20:
            gt.caption = f"{len(groups) - 20} more groups in --json output"
        con.print(gt)
    if stored:
        con.print(f"[dim]recorded in {stored}[/dim]")


# ---- judge -------------------------------------------------------------------------------------------------------

def read_pairs(fh: IO[str], source: str) -> list[tuple[dict[str, Any], Any]]:
    """JSONL rows with prompt and response -> (row, JudgeItem)."""
    from seval.errors import SevalError
    from seval.lang import detect_lang
    from seval.records import JudgeItem

    out = []
    for lineno, line in enumerate(fh, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            raise SevalError(f"{source}:{lineno}: not valid JSON") from None
        if not isinstance(row, dict) or not isinstance(row.get("prompt"), str) or not isinstance(row.get("response"), str):
            raise SevalError(f"{source}:{lineno}: each line needs string fields prompt and response")
        item = JudgeItem(prompt=row["prompt"], response=row["response"],
                         lang=row.get("lang") or detect_lang(row["prompt"] + row["response"]),
                         dimension=row.get("dimension"), category=row.get("category"), risk=row.get("risk"),
                         id=str(row["id"]) if row.get("id") is not None else None)
        out.append((row, item))
    return out


@critic_group.command("judge")
@click.option("--critic", "critic_spec", default=None, help="Critic spec (default: embedded).")
@click.option("--in", "in_file", default=None, help="JSONL with prompt, response[, lang, category, risk, id]; '-' = stdin.")
@click.option("--out", "out_file", default=None, help="Output JSONL (default: stdout; with --run: RUN/rejudge-<critic>.jsonl).")
@click.option("--run", "run_dir", default=None, type=click.Path(file_okay=False, path_type=Path),
              help="Re-judge the responses stored in a run directory (the target is not queried again).")
@click.option("-o", "--option", "options", multiple=True, help="Critic option key=value (e.g. concurrency=16).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@executor_options
def judge_cmd(critic_spec: str | None, in_file: str | None, out_file: str | None, run_dir: Path | None,
              options: tuple[str, ...], quiet: bool, **where: Any) -> None:
    """Judge (prompt, response) pairs from a file or stdin, or re-judge an existing run with another critic."""
    from seval.critic.base import resolve_critic
    from seval.errors import SevalError

    if run_dir is not None and in_file is not None:
        raise SevalError("give either --run RUN_DIR or --in FILE, not both")
    if run_dir is None and in_file is None:
        if sys.stdin.isatty():
            raise SevalError("nothing to judge: pass --in FILE (JSONL with prompt and response), --in - or --run RUN_DIR")
        in_file = "-"
    if run_dir is None and (where["executor"] != "local" or any(where[k] for k in ("ray_address", "ray_workers",
                                                                                   "ray_batch"))):
        raise SevalError("--executor and the --ray-* options apply to re-judging a run (--run RUN_DIR)")
    critic = resolve_critic(critic_spec, **_parse_options(options))

    if run_dir is not None:
        from seval.api import rejudge_run

        click.echo(json.dumps(rejudge_run(run_dir, critic, out_file, progress=not quiet,
                                          options=_parse_options(options), **where), ensure_ascii=False))
        return

    assert in_file is not None
    if in_file == "-":
        pairs = read_pairs(sys.stdin, "<stdin>")
    else:
        path = Path(in_file)
        if not path.is_file():
            raise SevalError(f"input file not found: {path}")
        with open(path, encoding="utf-8") as fh:
            pairs = read_pairs(fh, str(path))

    from seval.api import judge_pairs

    with _progress(len(pairs), f"judge {critic.spec}", not quiet and out_file is not None) as adv:
        verdicts = judge_pairs([it for _, it in pairs], critic, on_progress=adv)
    with open(out_file, "w", encoding="utf-8") if out_file else nullcontext(sys.stdout) as out:
        for (row, _), v in zip(pairs, verdicts, strict=True):
            out.write(json.dumps({**row, "verdict": v.label, "score": v.score, "tags": v.tags,
                                  "explanation": v.explanation, "critic": v.critic, "critic_hash": v.critic_hash,
                                  "raw": v.raw}, ensure_ascii=False) + "\n")
    if out_file:
        c = Counter(v.label for v in verdicts)
        click.echo(f"{len(verdicts)} pairs judged by {critic.spec}: {dict(c)} -> {out_file}", err=True)


# ---- list --------------------------------------------------------------------------------------------------------

@critic_group.command("list")
def list_cmd() -> None:
    """List registered critics, one line each."""
    from seval.critic.base import CRITICS, DEFAULT_CRITIC

    for name, factory in CRITICS.items():
        doc = (factory.__doc__ or sys.modules[factory.__module__].__doc__ or "").strip().splitlines()
        mark = " (default)" if name == DEFAULT_CRITIC else ""
        click.echo(f"{name:14} {(doc[0] if doc else '')}{mark}")
