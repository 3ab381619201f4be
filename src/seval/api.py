"""The Python API: one function per command, the same options as the CLI, callable from a notebook or a script.

    from seval.api import run_benchmark
    result = run_benchmark("openai-compatible:http://127.0.0.1:8000/v1#qwen", bench="bench.jsonl", limit=100)
    result.summary["safety"]["overall"]

Every function here is the library side of one `seval` command; the CLI parses options, calls it and prints.
Progress reaches the library only as a callback (`progress=`: a ProgressFactory, True for the default
terminal bar on stderr, False for none).
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from seval.records import GenParams
from seval.runs.pipeline import (
    DEFAULT_TARGET,
    LOCAL_MAX_TOKENS,
    REMOTE_MAX_TOKENS,
    RUNS_DIR,
    SUMMARY_BLOCKS,
    ProgressFactory,
    RunConfig,
    RunResult,
    default_max_tokens,
    default_out_dir,
    execute,
    load_cases,
    progress_factory,
    run_sync,
)
from seval.runs.rejudge import rejudge

__all__ = ["DEFAULT_TARGET", "LOCAL_MAX_TOKENS", "REMOTE_MAX_TOKENS", "RUNS_DIR", "RunConfig", "RunResult",
           "arun_benchmark", "bench_stats", "default_max_tokens", "default_out_dir", "defend", "judge_pairs",
           "load_cases", "rejudge_run", "run_benchmark", "run_sync", "tag_bench", "validate_critic"]

def _stderr_event(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


async def arun_benchmark(target: str | Any = DEFAULT_TARGET, bench: str | Path | None = None,
                         progress: bool | ProgressFactory = True, **options: Any) -> RunResult:
    """`seval run`: run `bench` (default: the starter benchmark) against `target`, judge it, write a run folder.

    `options` are RunConfig's fields (critic, out, concurrency, limit, lang, defense, params, retry_errors,
    timeout, max_retries, max_requests, max_cost, prices, price_in, price_out, max_wait, model_options;
    executor="ray" with ray_address, ray_workers, ray_batch to spread the work over Ray workers).
    """
    config = RunConfig(target=target, bench=bench, **options)
    return await execute(config, progress=progress_factory(progress), on_event=_stderr_event)


def run_benchmark(*args: Any, **kwargs: Any) -> RunResult:
    """Synchronous `arun_benchmark`."""
    return run_sync(lambda: arun_benchmark(*args, **kwargs))


# ---- critic ---------------------------------------------------------------------------------------------------


def _critic(critic: str | Any | None, options: dict[str, Any] | None) -> Any:
    from seval.critic.base import Critic, resolve_critic

    return critic if isinstance(critic, Critic) else resolve_critic(critic, **(options or {}))


def rejudge_run(run_dir: str | Path, critic: str | Any | None = None, out: str | Path | None = None,
                progress: bool | ProgressFactory = False, options: dict[str, Any] | None = None,
                **where: Any) -> dict[str, Any]:
    """`seval critic judge --run DIR`: re-judge a run's stored responses; returns what was done.

    `where`: executor ("local" or "ray"), ray_address, ray_workers (RunConfig's fields)."""
    judge = _critic(critic, options)
    res = run_sync(lambda: rejudge(run_dir, judge, out, progress_factory(progress), critic_options=options,
                                   **where))
    counts = res.summary["counts"]
    labels = {k: counts[k] for k in ("safe", "unsafe", "invalid") if counts.get(k)}
    for status in ("error", "content_filter"):
        if counts.get(status):
            labels[f"not judged ({status})"] = counts[status]
    judged_now = int(res.stats.get("judged", 0))
    return {"run": str(run_dir), "critic": judge.spec, "critic_hash": judge.config_hash(), "rows": counts["total"],
            "judged": judged_now, "cached": counts["safe"] + counts["unsafe"] + counts["invalid"] - judged_now,
            "labels": labels, "out": str(res.results_path), "flags": {k: v["count"] for k, v in
                                                                      res.summary["flags"].items()},
            "critic_validation": res.summary.get("critic", {}).get("line"),
            "audit": _rejudge_audit(run_dir, res)}


def _audit_block(run_dir: Path, summary: dict[str, Any]) -> dict[str, Any] | None:
    """The run's audit block (seval.audit), loaded only when a run writes its summary."""
    from seval.audit import audit_block

    return audit_block(run_dir, summary)


SUMMARY_BLOCKS["audit"] = _audit_block


def _rejudge_audit(run_dir: str | Path, res: RunResult) -> dict[str, Any] | None:
    """The new critic's agreement with the run's human labels (kept: they are keyed by case, not critic)."""
    from seval.audit import audit_block
    from seval.runs.folder import read_results

    return audit_block(run_dir, res.summary, read_results(res.results_path))


def judge_pairs(items: list[Any], critic: str | Any | None = None, options: dict[str, Any] | None = None,
                on_progress: Callable[[int], None] | None = None) -> list[Any]:
    """`seval critic judge --in FILE`: verdicts for JudgeItems, in order."""
    from seval.critic.validate import judge_all

    judge = _critic(critic, options)

    async def go() -> list[Any]:
        try:
            return await judge_all(judge, items, on_progress=on_progress)
        finally:
            await judge.aclose()

    return run_sync(go)


def validate_critic(gold: Any, critic: str | Any | None = None, lang: str | None = None,
                    limit: int | None = None, seed: int = 0, options: dict[str, Any] | None = None,
                    on_progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """`seval critic validate`: the critic's accuracy on human-labelled pairs (the record, not yet stored).

    `gold`: a GoldSet (seval.critic.validate.load_gold) or gold file paths (then `lang`/`limit` select).
    """
    from seval.critic.validate import GoldSet, load_gold, validate

    if not isinstance(gold, GoldSet):
        gold = load_gold(list(gold), lang=lang, limit=limit, seed=seed)
    judge = _critic(critic, options)

    async def go() -> dict[str, Any]:
        try:
            return await validate(judge, gold, seed=seed, on_progress=on_progress)
        finally:
            await judge.aclose()

    return run_sync(go)


# ---- defend ------------------------------------------------------------------------------------------------


def defend(target: str = DEFAULT_TARGET, constitution: str = "default", **options: Any) -> dict[str, Any]:
    """`seval defend`: the benchmark without and with a constitutional defense; returns defense.json's content."""
    from seval.defend import run_defend

    return run_defend(target, constitution, **options)


__all__ += ["GenParams", "progress_factory"]


# ---- attack ---------------------------------------------------------------------------------------------------


async def aattack_file(bench: str, attacks: str, out: str, rewriter: str | None = None, seed: int = 0,
                       lang: str | None = None, include_base: bool = False, limit: int | None = None,
                       fmt: str | None = None, concurrency: int = 16,
                       on_progress: Callable[[int], None] | None = None,
                       on_total: Callable[[int], None] | None = None) -> dict[str, Any]:
    """`seval attack`: write the named attacks of every base prompt in `bench` to `out`; returns a summary.

    Rows of `bench` that are already attack prompts are not attacked again (they are counted as skipped).
    Lines are written as they are made, to OUT.part, renamed at the end: an interrupted run leaves no half file.
    """
    import os
    import time

    from seval.attacks.base import AttackStats, apply_attacks, attack_names
    from seval.errors import SevalError
    from seval.io import read_cases, write_cases

    names = attack_names(attacks)  # unknown names fail before any work
    cases = list(read_cases(bench, lang=lang, limit=limit))
    base = [c for c in cases if c.attack is None]
    if not base:
        raise SevalError(f"{bench}: no base prompts to attack" + (f" in language {lang}" if lang else ""))
    if on_total:
        on_total(len(base) * len(names))
    backend = None
    if rewriter:
        from seval.models.base import resolve_model

        backend = resolve_model(rewriter)
    stats = AttackStats()
    by_id = {c.id: c for c in base}
    out_path = Path(out)
    part = out_path.with_name(out_path.name + ".part")
    fmt = fmt or {".csv": "csv", ".parquet": "parquet"}.get(out_path.suffix.lower(), "seval")
    t0 = time.perf_counter()
    made: list[Any] = []
    written = 0
    try:
        async with _CaseSink(part, fmt) as sink:
            emitted: set[str] = set()
            async for item in apply_attacks(base, names, seed=seed, rewriter=backend, concurrency=concurrency,
                                            stats=stats):
                if include_base and item.base_id not in emitted and item.base_id in by_id:
                    emitted.add(item.base_id)
                    sink.add(by_id[item.base_id])
                sink.add(item)
                if on_progress:
                    on_progress(1)
            written = sink.n
            made = sink.rest
        if made:  # csv / parquet are written in one go
            written = write_cases(part, made, fmt)
        os.replace(part, out_path)
    finally:
        part.unlink(missing_ok=True)
        if backend is not None:
            await backend.aclose()
    elapsed = time.perf_counter() - t0
    produced = sum(stats.produced.values())
    return {
        "bench": bench, "out": out, "seed": seed, "rewriter": rewriter, "base_prompts": len(base),
        "skipped_attack_rows": len(cases) - len(base), "skipped_empty": stats.skipped_empty,
        "written": written, "attack_prompts": produced, "per_attack": {n: stats.produced[n] for n in names},
        "rewriter_fallbacks": dict(stats.fallbacks), "seconds": round(elapsed, 3),
        "prompts_per_s": round(produced / elapsed, 1) if elapsed > 0 else None,
    }


class _CaseSink:
    """JSONL formats are streamed line by line; csv / parquet rows are kept for one write at the end."""

    def __init__(self, path: Path, fmt: str) -> None:
        self.path, self.fmt, self.n = path, fmt, 0
        self.rest: list[Any] = []
        self.fh: Any = None

    async def __aenter__(self) -> _CaseSink:
        if self.fmt in ("seval", "jsonl"):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.fh = open(self.path, "w", encoding="utf-8")  # noqa: SIM115 - closed in __aexit__
        return self

    def add(self, case: Any) -> None:
        if self.fh is None:
            self.rest.append(case)
            return
        import json

        from seval.io import to_seval_row

        row = to_seval_row(case) if self.fmt == "seval" else case.to_dict()
        self.fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        self.n += 1

    async def __aexit__(self, *exc: object) -> None:
        if self.fh is not None:
            self.fh.close()


def attack_file(*args: Any, **kwargs: Any) -> dict[str, Any]:
    """Synchronous `aattack_file`."""
    return run_sync(lambda: aattack_file(*args, **kwargs))


def preview_attacks(case: Any, attacks: str, seed: int = 0, rewriter: str | None = None) -> list[Any]:
    """`seval attack preview`: the attack prompts of one test case (nothing is written)."""
    from seval.attacks.base import apply_attacks

    async def go() -> list[Any]:
        backend = None
        if rewriter:
            from seval.models.base import resolve_model

            backend = resolve_model(rewriter)
        try:
            return [c async for c in apply_attacks([case], attacks, seed=seed, rewriter=backend)]
        finally:
            if backend is not None:
                await backend.aclose()

    return run_sync(go)


__all__ += ["aattack_file", "attack_file", "preview_attacks"]


# ---- generate -------------------------------------------------------------------------------------------------


def generate(generator: str | Any, taxonomy: Any, risks: list[Any], langs: list[str], config: Any,
             selection: Any = None, existing: list[Any] | None = None, translate_from: str | None = None,
             on_progress: Callable[[int, int], None] | None = None) -> Any:
    """`seval generate`: base risk prompts from the taxonomy with a generator model (kept and raw cases)."""
    from seval.generate.pipeline import run_generate
    from seval.models.base import ModelBackend, resolve_model

    backend = generator if isinstance(generator, ModelBackend) else resolve_model(generator)

    async def go() -> Any:
        try:
            return await run_generate(backend, taxonomy, risks, langs, config, selection, existing or [],
                                      translate_from, on_progress)
        finally:
            await backend.aclose()

    return run_sync(go)


__all__ += ["generate"]


# ---- report, studies ------------------------------------------------------------------------------------------


def report(paths: list[str | Path], out: str | Path | None = None, fmt: str = "html",
           max_examples: int | None = None) -> tuple[str, dict[str, Any]]:
    """`seval report`: the report text (html, json, csv, md) of run and study folders, written to `out` if given."""
    from seval.report import build_report

    return build_report(paths, out, fmt=fmt, max_examples=max_examples)


def study(kind: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """`seval study decoding|language|reasoning`: the study's study.json content (see seval.studies.*)."""
    from seval.errors import SevalError

    if kind == "decoding":
        from seval.studies.decoding import run_decoding as fn
    elif kind == "language":
        from seval.studies.language import language_study as fn  # type: ignore[assignment]
    elif kind == "reasoning":
        from seval.studies.reasoning import run_reasoning as fn  # type: ignore[assignment]
    else:
        raise SevalError(f"unknown study {kind!r}; valid: decoding, language, reasoning")
    return fn(*args, **kwargs)  # type: ignore[no-any-return]


__all__ += ["report", "study"]


# ---- bench -----------------------------------------------------------------------------------------------------


def bench_stats(path: str, lang: str | None = None, tagger: str | None = None) -> dict[str, Any]:
    """Counts per language, dimension, category and attack, read in one streaming pass; with `tagger`, cases
    without labels are tagged first (their counts then come from the tagger's predictions)."""
    from seval.io import read_cases

    cases: Any = read_cases(path, lang=lang)
    if tagger:
        from seval.tagger import tag_cases

        cases = tag_cases(list(cases), tagger)
    by_lang: Counter[str] = Counter()
    by_dim: Counter[str] = Counter()
    by_cat: Counter[str] = Counter()
    by_attack: Counter[str] = Counter()
    linked = 0
    total = 0
    for c in cases:
        total += 1
        by_lang[c.lang] += 1
        by_dim[c.dimension or "unknown"] += 1
        if c.category:
            by_cat[c.category] += 1
        by_attack[c.attack or "base"] += 1
        linked += bool(c.from_id)
    return {"file": path, "total": total, "by_language": dict(by_lang), "by_dimension": dict(sorted(by_dim.items())),
            "by_category": dict(sorted(by_cat.items())), "by_attack": dict(sorted(by_attack.items())),
            "en_linked_to_zh": linked}


def tag_bench(path: str, out: str, tagger: str | None = None, overwrite: bool = False,
              lang: str | None = None) -> dict[str, Any]:
    """`seval bench tag`: FILE's prompts with dimension, category and risk filled by the risk tagger, written to
    `out` (seval JSONL, or CSV / Parquet by suffix); rows that carry labels keep them unless `overwrite`."""
    from seval.errors import SevalError
    from seval.io import read_cases, write_cases
    from seval.tagger import tag_cases

    if Path(out).resolve() == Path(path).resolve():
        raise SevalError(f"--out {out} is the input file; write the tagged copy elsewhere")
    cases = list(read_cases(path, lang=lang, keep_unknown_labels=True))  # other benchmarks' labels -> meta
    before = sum(1 for c in cases if c.dimension and c.category and c.risk)
    tag_cases(cases, tagger, overwrite=overwrite)
    n = write_cases(out, cases)
    dims = Counter(str(c.dimension) for c in cases)
    return {"out": out, "cases": n, "tagged": n if overwrite else n - before, "kept": 0 if overwrite else before,
            "by_dimension": dict(sorted(dims.items()))}


# ---- adaptive red teaming (issue 15) -------------------------------------------------------------------------

def redteam(target: str | Any, attacker: str | Any, bench: str | Path | None = None,
            methods: str | list[str] = "pair,tap,crescendo", max_tokens: int | None = None,
            attacker_max_tokens: int | None = None, attacker_temperature: float = 1.0, seed: int = 0,
            progress: bool | ProgressFactory = False, **options: Any) -> Any:
    """`seval redteam`: adaptive attacks (seval.redteam) on each base prompt of `bench`; returns a RedteamResult
    (out_dir, summary, complete, exit_code, message). `options` are RedteamConfig's fields (critic, settings,
    out, limit, lang, concurrency, timeout, max_retries, max_requests, max_cost, prices, price_in, price_out,
    max_wait, model_options)."""
    from seval.records import GenParams
    from seval.redteam import RedteamConfig, run_redteam
    from seval.redteam.runner import ATTACKER_MAX_TOKENS, parse_methods
    from seval.runs.config import is_cpu_local

    tspec = target if isinstance(target, str) else target.spec
    aspec = attacker if isinstance(attacker, str) else attacker.spec
    params = GenParams(max_tokens=max_tokens or default_max_tokens(tspec), seed=seed)
    aparams = GenParams(temperature=attacker_temperature, seed=seed, max_tokens=attacker_max_tokens or
                        ATTACKER_MAX_TOKENS["local" if is_cpu_local(aspec) else "remote"])
    config = RedteamConfig(target=target, attacker=attacker, bench=bench, methods=parse_methods(methods),
                           params=params, attacker_params=aparams, **options)
    return run_redteam(config, progress=progress_factory(progress), on_event=_stderr_event)


# ---- audit (issue 24) ------------------------------------------------------------------------------------------

def audit_sample(run_dir: str | Path, *, n: int, out: str | Path, strata: str | list[str] | None = None,
                 seed: int = 0, fmt: str | None = None) -> dict[str, Any]:
    """`seval audit RUN --sample N --out FILE`: draw a stratified sample of judged rows, store its design in the
    run's store and write it (JSONL or CSV) with `label` empty; returns the strata sizes and draws."""
    from seval.audit.actions import draw_sample

    return draw_sample(run_dir, n, out, strata=strata, seed=seed, fmt=fmt)


def audit_import(run_dir: str | Path, *, labels: str | Path, annotator: str | None = None) -> dict[str, Any]:
    """`seval audit RUN --labels FILE`: import human labels (bad records reported by line and skipped) and
    refresh summary.json's `audit` block; returns the import report with the block."""
    from seval.audit.actions import import_file

    return import_file(run_dir, labels, annotator)


def audit_label(run_dir: str | Path, *, getchar: Callable[[], str], echo: Callable[[str], None],
                prompt: Callable[[str], str], annotator: str | None = None,
                show_verdict: bool = False) -> dict[str, Any]:
    """`seval audit RUN --label`: label the sample one item at a time through the given key/print callbacks."""
    from seval.audit.actions import label_terminal

    return label_terminal(run_dir, getchar, echo, prompt, annotator=annotator, show_verdict=show_verdict)


__all__ += ["audit_import", "audit_label", "audit_sample"]
