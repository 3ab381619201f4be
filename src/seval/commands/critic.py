"""`seval critic`: validate a critic against human labels, judge ad-hoc pairs or re-judge a run, list critics."""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import IO, Any

import click

_CJK = re.compile(r"[\u4e00-\u9fff]")


def _parse_options(pairs: tuple[str, ...]) -> dict[str, Any]:
    """`-o concurrency=16 -o fallback=openai:gpt-4o-mini` -> critic options (numbers parsed)."""
    from seval.errors import SevalError

    out: dict[str, Any] = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq or not key.strip():
            raise SevalError(f"bad critic option {pair!r}: expected key=value")
        val: Any = value
        for cast in (int, float):
            try:
                val = cast(value)
                break
            except ValueError:
                continue
        if value.lower() in ("true", "false"):
            val = value.lower() == "true"
        out[key.strip()] = val
    return out


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
    from seval.critic.base import resolve_critic
    from seval.critic.validate import load_gold, store_result, validate

    gold = load_gold(list(gold_files), lang=lang, limit=limit, seed=seed)
    critic = resolve_critic(critic_spec, **_parse_options(options))

    async def go() -> dict[str, Any]:
        try:
            with _progress(len(gold.items), f"validate {critic.spec}", not quiet and not as_json) as adv:
                return await validate(critic, gold, seed=seed, on_progress=adv)
        finally:
            await critic.aclose()

    record = asyncio.run(go())
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

def guess_lang(text: str) -> str:
    """zh when the text has Chinese characters, else en."""
    return "zh" if _CJK.search(text or "") else "en"


def read_pairs(fh: IO[str], source: str) -> list[tuple[dict[str, Any], Any]]:
    """JSONL rows with prompt and response -> (row, JudgeItem)."""
    from seval.errors import SevalError
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
                         lang=row.get("lang") or guess_lang(row["prompt"] + row["response"]),
                         dimension=row.get("dimension"), category=row.get("category"), risk=row.get("risk"),
                         id=str(row["id"]) if row.get("id") is not None else None)
        out.append((row, item))
    return out


def _count_lines(path: Path) -> int:
    if not path.is_file():
        return 0
    with open(path, encoding="utf-8") as fh:
        return sum(1 for _ in fh)


def _strip_think() -> Callable[[str], str]:
    try:
        from seval.metrics.text import strip_think
    except ImportError:
        return lambda s: s
    return lambda s: strip_think(s)[0]


async def rejudge_run(run_dir: Path, critic: Any, out_path: Path,
                      on_progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Judge a finished run's stored responses with another critic, without calling the target again.

    Verdicts go into the run's store under the new critic's hash (cached: a second re-judge is free) and into
    `out_path` as result rows. Responses are found by the same keys the runner used (run.json + benchmark).
    """
    from seval.errors import SevalError
    from seval.models.base import build_messages
    from seval.records import GenParams, JudgeItem, ResultRow
    from seval.runner.executor import response_key
    from seval.runner.store import RunStore

    meta_path, results_path, store_path = run_dir / "run.json", run_dir / "results.jsonl", run_dir / "store.sqlite"
    for p in (meta_path, store_path):
        if not p.is_file():
            raise SevalError(f"{run_dir} is not a finished run directory: {p.name} is missing")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    params = GenParams.from_dict(meta.get("params") or {})
    store = RunStore(store_path)
    try:
        rows: list[tuple[ResultRow, str | None]] = []
        bench = Path(meta.get("bench") or "")
        if bench.is_file():
            from seval.api import load_cases

            for case in load_cases(bench, meta.get("lang"), meta.get("limit")):
                key = response_key(meta["target_hash"], build_messages(case.prompt, params, case.turns), params)
                rows.append((ResultRow(id=case.id, lang=case.lang, prompt=case.prompt, dimension=case.dimension,
                                       category=case.category, risk=case.risk, attack=case.attack,
                                       base_id=case.base_id, from_id=case.from_id, target=meta.get("target", ""),
                                       status="error", defense=meta.get("defense")), key))
        elif results_path.is_file():
            # benchmark moved: fall back to results.jsonl; keys via the store's unique response per case id
            by_case: dict[str, list[str]] = {}
            for sr in store.iter_responses():
                by_case.setdefault(sr.case_id, []).append(sr.key)
            with open(results_path, encoding="utf-8") as fh:
                for line in fh:
                    row = ResultRow.from_dict(json.loads(line))
                    keys = by_case.get(row.id, [])
                    rows.append((row, keys[0] if len(keys) == 1 else None))
        else:
            raise SevalError(f"{run_dir}: neither the benchmark {bench} nor results.jsonl can be read")
        responses = store.get_responses([k for _, k in rows if k])
        cached = store.get_verdicts([k for _, k in rows if k], critic.config_hash())
        strip = _strip_think()
        todo: list[tuple[int, JudgeItem]] = []
        verdicts: dict[int, Any] = {}
        for i, (row, key) in enumerate(rows):
            sr = responses.get(key) if key else None
            if sr is not None:
                row.status, row.response, row.error_kind, row.error = sr.status, sr.text, sr.error_kind, sr.error
                row.prompt_tokens, row.completion_tokens, row.latency_s = (sr.prompt_tokens, sr.completion_tokens,
                                                                           sr.latency_s)
            elif key is not None or row.response is None:
                row.status, row.error_kind, row.error = "error", "not_run", "no response recorded"
            if row.status != "ok" or row.response is None:
                continue
            if key and key in cached and cached[key].label != "invalid":
                verdicts[i] = cached[key]
                if on_progress:
                    on_progress(1)
            else:
                todo.append((i, JudgeItem(prompt=row.prompt, response=strip(row.response), lang=row.lang,
                                          dimension=row.dimension, category=row.category, risk=row.risk, id=row.id)))
        from seval.critic.validate import judge_all

        for start in range(0, len(todo), 256):
            chunk = todo[start:start + 256]
            got = await judge_all(critic, [it for _, it in chunk], batch_size=256, on_progress=on_progress)
            for (i, _), v in zip(chunk, got, strict=True):
                verdicts[i] = v
                key = rows[i][1]
                if key:
                    store.add_verdict(key, v)
            store.flush()
        labels: Counter[str] = Counter()
        out_path.parent.mkdir(parents=True, exist_ok=True)
        with open(out_path, "w", encoding="utf-8") as fh:
            for i, (row, _) in enumerate(rows):
                v = verdicts.get(i)
                if v is not None:
                    row.verdict, row.score, row.explanation, row.tags, row.critic = (v.label, v.score, v.explanation,
                                                                                     v.tags, critic.spec)
                    labels[v.label] += 1
                else:
                    labels[f"not judged ({row.status})"] += 1
                fh.write(json.dumps(row.to_dict(), ensure_ascii=False) + "\n")
        return {"run": str(run_dir), "critic": critic.spec, "critic_hash": critic.config_hash(), "rows": len(rows),
                "judged": len(todo), "cached": len(verdicts) - len(todo), "labels": dict(labels),
                "out": str(out_path)}
    finally:
        store.close()


@critic_group.command("judge")
@click.option("--critic", "critic_spec", default=None, help="Critic spec (default: embedded).")
@click.option("--in", "in_file", default=None, help="JSONL with prompt, response[, lang, category, risk, id]; '-' = stdin.")
@click.option("--out", "out_file", default=None, help="Output JSONL (default: stdout; with --run: RUN/rejudge-<critic>.jsonl).")
@click.option("--run", "run_dir", default=None, type=click.Path(file_okay=False, path_type=Path),
              help="Re-judge the responses stored in a run directory (the target is not queried again).")
@click.option("-o", "--option", "options", multiple=True, help="Critic option key=value (e.g. concurrency=16).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def judge_cmd(critic_spec: str | None, in_file: str | None, out_file: str | None, run_dir: Path | None,
              options: tuple[str, ...], quiet: bool) -> None:
    """Judge (prompt, response) pairs from a file or stdin, or re-judge an existing run with another critic."""
    from seval.critic.base import resolve_critic
    from seval.errors import SevalError

    if run_dir is not None and in_file is not None:
        raise SevalError("give either --run RUN_DIR or --in FILE, not both")
    if run_dir is None and in_file is None:
        if sys.stdin.isatty():
            raise SevalError("nothing to judge: pass --in FILE (JSONL with prompt and response), --in - or --run RUN_DIR")
        in_file = "-"
    critic = resolve_critic(critic_spec, **_parse_options(options))

    if run_dir is not None:
        slug = re.sub(r"[^A-Za-z0-9._-]+", "-", critic.spec).strip("-")[:60]
        out_path = Path(out_file) if out_file else run_dir / f"rejudge-{slug}.jsonl"

        async def go_run() -> dict[str, Any]:
            try:
                n_rows = _count_lines(run_dir / "results.jsonl")
                with _progress(n_rows, f"re-judge {critic.spec}", not quiet) as adv:
                    return await rejudge_run(run_dir, critic, out_path, adv)
            finally:
                await critic.aclose()

        click.echo(json.dumps(asyncio.run(go_run()), ensure_ascii=False))
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

    async def go() -> list[Any]:
        from seval.critic.validate import judge_all

        try:
            with _progress(len(pairs), f"judge {critic.spec}", not quiet and out_file is not None) as adv:
                return await judge_all(critic, [it for _, it in pairs], on_progress=adv)
        finally:
            await critic.aclose()

    verdicts = asyncio.run(go())
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
