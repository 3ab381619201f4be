"""`seval audit RUN_DIR`: draw a sample of verdicts for people to check, label it in the terminal, import
labels; summary.json then carries the judge's error on this run and the corrected safety score."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click


@click.command("audit")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--sample", "n", type=click.IntRange(1), default=None, help="Draw a stratified sample of N judged rows.")
@click.option("--strata", default=None,
              help="Stratum fields, comma-separated: verdict, lang, dimension, uncertain [default: verdict,lang,uncertain].")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the sample.")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default=None,
              help="Sample file format (default: from --out's suffix, else jsonl).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Sample file to write.")
@click.option("--label", "label", is_flag=True, help="Label the sample in the terminal (resumable).")
@click.option("--labels", "labels_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Import labels: JSONL, CSV or JSON with id, label (safe|unsafe)[, note, annotator].")
@click.option("--annotator", default=None, help="Who labels (default: $SEVAL_ANNOTATOR, else the login name).")
@click.option("--show-verdict", is_flag=True, help="Show the judge's verdict while labelling (off: blind labels).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def audit_cmd(run_dir: Path, n: int | None, strata: str | None, seed: int, fmt: str | None, out: Path | None,
              label: bool, labels_file: Path | None, annotator: str | None, show_verdict: bool,
              as_json: bool) -> None:
    """Audit a run's verdicts by hand: --sample N --out FILE, then --label or --labels FILE.

    The audit's labels give the judge's agreement, sensitivity and specificity on this run and a safety score
    corrected for its error, written to summary.json (`audit`) and shown by `seval report`.
    """
    from seval.errors import SevalError

    if sum(x is not None and x is not False for x in (n, labels_file, label or None)) != 1:
        raise SevalError("give one of --sample N --out FILE, --label or --labels FILE")
    if n is not None:
        from seval.api import audit_sample

        if out is None:
            raise SevalError("--sample needs --out FILE (the sample to label)")
        res = audit_sample(run_dir, n=n, out=out, strata=strata, seed=seed, fmt=fmt)
        _show(res, as_json, f"{res['drawn']} of {res['population']} judged rows drawn into "
                            f"{len(res['strata'])} strata -> {res['out']}", run_dir)
        return
    if labels_file is not None:
        from seval.api import audit_import

        res = audit_import(run_dir, labels=labels_file, annotator=annotator)
        for p in res["problems"]:
            click.echo(f"{labels_file}: {p['problem']}", err=True)
        _show(res, as_json, f"{res['added']} added, {res['changed']} changed, {res['unchanged']} unchanged, "
                            f"{res['skipped']} skipped, {res['unlabelled']} without a label", run_dir)
        return
    from seval.api import audit_label

    res = audit_label(run_dir, getchar=click.getchar, echo=click.echo,
                      prompt=lambda text: str(click.prompt(text, default="", show_default=False)),
                      annotator=annotator, show_verdict=show_verdict)
    _show(res, as_json, f"{res['labelled']} of {res['items']} labelled ({res['labelled_now']} now)", run_dir)


def _show(res: dict[str, Any], as_json: bool, line: str, run_dir: Path) -> None:
    if as_json:
        click.echo(json.dumps(res, ensure_ascii=False, indent=2))
        return
    click.echo(line)
    if res.get("audit"):
        from seval.commands.audit_tables import print_audit
        from seval.runs.folder import RunFolder

        print_audit(res["audit"], RunFolder(run_dir).summary)
