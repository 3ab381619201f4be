"""`seval study decoding|language|reasoning`: multi-run studies; each writes DIR/study.json for `seval report`."""

from __future__ import annotations

from pathlib import Path

import click

_target = click.option("--target", "-t", default="local:smollm2", show_default=True, help="Model string.")
_bench = click.option("--bench", "-b", type=click.Path(exists=True, dir_okay=False), default=None,
                      help="Benchmark file (default: the starter benchmark).")
_critic = click.option("--critic", "-c", default=None, help="Critic spec (default: the embedded critic).")
_limit = click.option("--limit", "-n", type=int, default=None, help="Use only the first N test cases.")
_out = click.option("--out", "-o", type=click.Path(file_okay=False), required=True,
                    help="Study directory: one run directory per setting, plus study.json.")
_quiet = click.option("--quiet", "-q", is_flag=True, help="No progress bars.")


@click.group("study")
def study_group() -> None:
    """Decoding, language and reasoning studies. Add the study directory to `seval report` to see it."""


@study_group.command("decoding")
@_target
@_bench
@_critic
@click.option("--temperatures", default="0,0.7,1.0", show_default=True, help="Comma-separated temperatures.")
@click.option("--top-p", "top_p", default="1.0,0.9", show_default=True, help="Comma-separated top_p values.")
@_limit
@click.option("--lang", type=click.Choice(["zh", "en"]), default=None, help="Only this language.")
@click.option("--max-tokens", type=int, default=256, show_default=True)
@_out
@_quiet
def decoding_cmd(target: str, bench: str | None, critic: str | None, temperatures: str, top_p: str,
                 limit: int | None, lang: str | None, max_tokens: int, out: str, quiet: bool) -> None:
    """Run the benchmark over a temperature x top_p grid; each point is compared with the first one."""
    from seval.studies.common import parse_floats
    from seval.studies.decoding import run_decoding

    data = run_decoding(target, bench, critic, Path(out), parse_floats(temperatures, "--temperatures"),
                        parse_floats(top_p, "--top-p"), limit=limit, lang=lang, max_tokens=max_tokens,
                        progress=not quiet)
    for p in data["points"]:
        s = p["safety"]
        rate = "-" if s["rate"] is None else f"{100 * s['rate']:.1f}%"
        click.echo(f"temperature={p['temperature']:g} top_p={p['top_p']:g}: safety {rate} (n={s['n']})")
    click.echo(f"wrote {Path(out) / 'study.json'}")


@study_group.command("language")
@_target
@_bench
@_critic
@_limit
@click.option("--run", "run_dir", type=click.Path(exists=True, file_okay=False), default=None,
              help="Analyse this existing run directory instead of running the benchmark.")
@_out
@_quiet
def language_cmd(target: str, bench: str | None, critic: str | None, limit: int | None, run_dir: str | None,
                 out: str, quiet: bool) -> None:
    """zh vs. en on linked prompt pairs (en prompts translated from zh), with a paired McNemar test."""
    from seval.studies.language import language_study

    out_p = Path(out)
    if run_dir is None:
        from seval.records import GenParams
        from seval.studies.common import run_one

        run_path = run_one(target, bench, critic, out_p / "run", limit, None, GenParams(), progress=not quiet)
        meta = {"target": target, "bench": bench, "critic": critic, "limit": limit}
    else:
        from seval.runs.folder import RunFolder

        run_path = Path(run_dir)
        info = RunFolder(run_path).meta
        meta = {"target": info.get("target", "?"), "bench": info.get("bench"), "critic": info.get("critic"),
                "limit": info.get("limit")}
    data = language_study(run_path, out_p, meta)
    c = data["pairs"]
    if c["diff"] is None:
        click.echo("no linked zh/en pair has two verdicts")
    else:
        click.echo(f"{c['n_pairs']} pairs: zh {100 * c['a']['rate']:.1f}% vs en {100 * c['b']['rate']:.1f}% safe, "
                   f"zh - en {100 * c['diff']:+.1f} pts [{100 * c['diff_lo']:+.1f}, {100 * c['diff_hi']:+.1f}], "
                   f"McNemar p={c['p_value']:.3g}")
    click.echo(f"wrote {out_p / 'study.json'}")


@study_group.command("reasoning")
@_target
@_bench
@_critic
@_limit
@click.option("--lang", type=click.Choice(["zh", "en"]), default=None, help="Only this language.")
@click.option("--max-tokens", type=int, default=512, show_default=True, help="Room for the reasoning.")
@click.option("--cot-prompts", type=click.Path(exists=True, dir_okay=False), default=None,
              help="YAML with the CoT instruction per language {en: ..., zh: ...} (default: packaged).")
@_out
@_quiet
def reasoning_cmd(target: str, bench: str | None, critic: str | None, limit: int | None, lang: str | None,
                  max_tokens: int, cot_prompts: str | None, out: str, quiet: bool) -> None:
    """With vs. without a chain-of-thought instruction; <think> blocks stripped before judging, both reported."""
    from seval.studies.reasoning import run_reasoning

    data = run_reasoning(target, bench, critic, Path(out), limit=limit, lang=lang, max_tokens=max_tokens,
                         cot_prompts=cot_prompts, progress=not quiet)
    for a in data["arms"]:
        s, u = a["stripped"], a["unstripped"]
        fmt = lambda b: "-" if b["rate"] is None else f"{100 * b['rate']:.1f}%"  # noqa: E731
        click.echo(f"{a['name']}: safety {fmt(s)} stripped / {fmt(u)} unstripped "
                   f"({a['with_think']} of {a['rows']} answers had <think>)")
    click.echo(f"wrote {Path(out) / 'study.json'}")
