"""`seval run`: a benchmark x a target x a critic -> results.jsonl, summary.json and the run store."""

from __future__ import annotations

import json
from typing import Any

import click

from seval.api import DEFAULT_TARGET
from seval.commands.options import executor_options, runner_options, usage_line
from seval.runs.config import MAX_ERROR_SHARE


@click.command("run")
@click.option("--target", default=DEFAULT_TARGET, show_default=True,
              help="Model string: local:smollm2, openai:<model>, openai-compatible:<url>#<model>, llama-cpp:<gguf>.")
@click.option("--bench", default=None, help="Benchmark file (S-Eval .jsonl/.jsonl.zip, our JSONL, CSV, Parquet). "
              "Default: the starter benchmark shipped with seval.")
@click.option("--critic", default=None, help="Critic spec (default: embedded). rule, embedded, llm:<model>, ...")
@click.option("--out", default=None, help="Run directory (default: seval-runs/<target>__<bench>; re-running resumes).")
@click.option("--concurrency", type=click.IntRange(1, 4096), default=None, help="Requests in flight (default per backend).")
@click.option("--limit", type=click.IntRange(1), default=None, help="Only the first N test cases.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default=None, help="Only one language.")
@click.option("--defense", default=None, help="constitution:NAME[:SCENARIO] to run with the constitutional defense.")
@click.option("--temperature", type=float, default=0.0, show_default=True)
@click.option("--top-p", type=float, default=1.0, show_default=True)
@click.option("--max-tokens", type=click.IntRange(1), default=None,
              help="Answer length cap (default 256; 64 for in-process local models, to keep the default run short).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--system-prompt", default=None, help="System prompt for the target.")
@click.option("--retry-errors", is_flag=True, help="Re-do only the items that ended in an error last time.")
@click.option("--max-error-share", type=click.FloatRange(0, 1), default=MAX_ERROR_SHARE, show_default=True,
              help="Exit non-zero (code 5) when every row ended in an error or more than this share did "
                   "(the rows are kept; --retry-errors re-asks them).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON instead of tables.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@runner_options
@executor_options
def run_cmd(target: str, bench: str | None, critic: str | None, out: str | None, concurrency: int | None,
            limit: int | None, lang: str | None, defense: str | None, temperature: float, top_p: float,
            max_tokens: int | None, seed: int, system_prompt: str | None, retry_errors: bool,
            max_error_share: float, as_json: bool, quiet: bool, **runner: Any) -> None:
    """Run a benchmark against a target model and judge every answer.

    With no options: the starter benchmark, the embedded SmolLM2 model, the embedded critic, offline.
    """
    from seval.api import run_benchmark
    from seval.records import GenParams

    if max_tokens is None:
        from seval.api import default_max_tokens

        max_tokens = default_max_tokens(target)
    params = GenParams(temperature=temperature, top_p=top_p, max_tokens=max_tokens, seed=seed,
                       system_prompt=system_prompt)
    result = run_benchmark(target=target, bench=bench, critic=critic, out=out, concurrency=concurrency, limit=limit,
                           lang=lang, defense=defense, params=params, progress=not quiet, retry_errors=retry_errors,
                           max_error_share=max_error_share, **runner)
    if not result.summary:  # stopped before a summary could be written (the store's disk is full)
        _exit_if_stopped(result)
    if as_json:
        click.echo(json.dumps(result.summary, ensure_ascii=False, indent=2))
        _exit_if_stopped(result)
        return
    from seval.commands.tables import print_summary

    print_summary(result.summary)
    click.echo(f"results: {result.results_path}  summary: {result.out_dir / 'summary.json'}  "
               f"store: {result.out_dir / 'store.sqlite'}")
    click.echo(usage_line(result.stats))
    _exit_if_stopped(result)


def _exit_if_stopped(result: Any) -> None:
    """An early stop (budget, endpoint down) or too many errored rows says what was done and how to continue,
    with exit code 3, 4 or 5; errored rows under the threshold get the one line on how to re-ask them."""
    from seval.runner.executor import error_line

    if result.exit_code:
        click.echo(result.message, err=True)
        raise SystemExit(result.exit_code)
    line = error_line(result.stats)
    if line:
        click.echo(line, err=True)
