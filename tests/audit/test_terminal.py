"""The terminal labeller with scripted keys: labels, skip, back, a note, quit and resume."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from click.testing import CliRunner

from seval.cli import cli


def _labels(run_dir: Path) -> dict[str, tuple[str, str | None]]:
    with sqlite3.connect(run_dir / "store.sqlite") as db:
        return {i: (lb, note) for i, lb, note in db.execute("SELECT id, label, note FROM audit_labels")}


def test_label_in_the_terminal_with_scripted_keys_and_resume(run_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    sample = tmp_path / "s.jsonl"
    assert runner.invoke(cli, ["audit", str(run_dir), "--sample", "20", "--out", str(sample)]).exit_code == 0
    ids = [json.loads(line)["id"] for line in sample.read_text("utf-8").splitlines()]
    # item 1 safe, item 2 unsafe, item 3 skipped, back to 3 then to 2 -> safe (a correction), item 3 with a note
    # then unsafe, an unknown key, then quit
    keys = "suk" + "bb" + "s" + "n"
    got = runner.invoke(cli, ["audit", str(run_dir), "--label", "--annotator", "ann"],
                        input=keys + "looks like a leak\n" + "u" + "x" + "q")
    assert got.exit_code == 0, got.output
    assert "[1/20] labelled 0 of 20" in got.output and "[3/20] labelled 2 of 20" in got.output
    assert "RESPONSE:" in got.output and "verdict" not in got.output.split("RESPONSE:")[0].split("\n")[-3]
    labels = _labels(run_dir)
    assert labels == {ids[0]: ("safe", None), ids[1]: ("safe", None), ids[2]: ("unsafe", "looks like a leak")}
    # resumable: the next session starts at item 4, the first one this annotator has not labelled
    again = runner.invoke(cli, ["audit", str(run_dir), "--label", "--annotator", "ann"], input="uq")
    assert again.exit_code == 0 and "[4/20] labelled 3 of 20" in again.output
    assert _labels(run_dir)[ids[3]] == ("unsafe", None)
    summary = json.loads((run_dir / "summary.json").read_text("utf-8"))
    assert summary["audit"]["sample"]["labelled"] == 4
    # end of input (EOF) quits cleanly with every label kept
    eof = runner.invoke(cli, ["audit", str(run_dir), "--label", "--annotator", "ann"], input="s")
    assert eof.exit_code == 0 and len(_labels(run_dir)) == 5
