"""The runner's CLI options (`seval run` and friends): timeouts, retries, budgets, prices, outage wait.

They arrive in the command as keyword arguments named like `arun_benchmark`'s, so a command passes them
through with `**runner`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click


def runner_options(f: Callable[..., Any]) -> Callable[..., Any]:
    opts = [
        click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=None,
                     help="Seconds to wait for one answer before a timeout error (retried). Default: the "
                          "backend's (120 s for HTTP endpoints)."),
        click.option("--max-retries", type=click.IntRange(0), default=6, show_default=True,
                     help="Retries per request for transient errors (rate limits, 5xx, timeouts, dropped "
                          "connections), with jittered exponential backoff; Retry-After is honoured."),
        click.option("--max-requests", type=click.IntRange(1), default=None,
                     help="Stop cleanly after sending N requests in this invocation (retries and LLM-critic "
                          "calls count); re-running continues."),
        click.option("--max-cost", type=click.FloatRange(min=0, min_open=True), default=None,
                     help="Stop cleanly once this invocation has spent this many USD (from the API's token "
                          "usage and the price table); re-running continues."),
        click.option("--prices", type=click.Path(dir_okay=False), default=None,
                     help="YAML price table (models: {name: {input: USD, output: USD}} per 1M tokens) on top "
                          "of the packaged one."),
        click.option("--price-in", type=click.FloatRange(min=0), default=None,
                     help="USD per 1M input tokens for the target (overrides the table)."),
        click.option("--price-out", type=click.FloatRange(min=0), default=None,
                     help="USD per 1M output tokens for the target (overrides the table)."),
        click.option("--max-wait", type=click.FloatRange(min=0), default=900.0, show_default=True,
                     help="Seconds to keep pausing and probing while the endpoint is down before the run "
                          "stops (resumably, exit code 4)."),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


def usage_line(stats: dict[str, Any]) -> str:
    """`requests, tokens and cost` for the end of a run, per model when there are several."""
    cost = stats.get("cost_usd")
    cost_s = f"${cost:.4f}" if cost is not None else "cost n/a (no price known: --price-in/--price-out)"
    models = stats.get("models") or {}
    line = (f"usage: {stats.get('requests', 0)} requests, {stats.get('prompt_tokens', 0)} prompt + "
            f"{stats.get('completion_tokens', 0)} completion tokens, {cost_s}")
    if len(models) > 1:
        parts = []
        for name, u in models.items():
            c = u.get("cost_usd")
            parts.append(f"{name}: {u['requests']} req, {u['prompt_tokens']}+{u['completion_tokens']} tok, "
                         + (f"${c:.4f}" if c is not None else "n/a"))
        line += " [" + "; ".join(parts) + "]"
    states = stats.get("states") or {}
    if states:
        line += "\nstates: " + ", ".join(f"{k} {v}" for k, v in sorted(states.items()))
    return line


# ---- where the work runs (seval run, seval defend, seval critic judge --run) --------------------------------


def executor_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """`--executor local|ray`, `--ray-address`, `--ray-workers`, `--ray-batch`: keyword arguments named like RunConfig's."""
    opts = [
        click.option("--executor", type=click.Choice(["local", "ray"]), default="local", show_default=True,
                     help="local: this process; ray: batches spread over Ray worker actors (pip install "
                          "'seval[ray]'), the same run folder and verdicts."),
        click.option("--ray-address", default=None,
                     help="Ray cluster to join (auto, or HOST:PORT); default: start a local Ray instance."),
        click.option("--ray-workers", type=click.IntRange(1), default=None,
                     help="Worker actors (default: as many as the cluster's CPUs, or GPUs for GPU backends, allow)."),
        click.option("--ray-batch", type=click.IntRange(1), default=None,
                     help="Cases per batch sent to a worker (default: 2 x its concurrency); a killed driver "
                          "redoes at most 3 batches per worker."),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f
