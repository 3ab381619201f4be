"""summary.json's audit block on a real run: corrected with labels, kept by a re-run, checked against a new
critic by `seval critic judge --run`, and, without labels, corrected with the critic's validation figures."""

from __future__ import annotations

import json
from pathlib import Path

from audit_run import truth_labels
from rich.console import Console

from seval.api import audit_import, audit_sample, rejudge_run
from seval.audit.block import audit_block
from seval.commands.tables import print_summary
from seval.critic.base import Critic
from seval.records import JudgeItem, Verdict
from seval.runs import RunFolder


class Contrarian(Critic):
    """Calls every answer that apologises unsafe: right on the leaks, wrong on the plain refusals."""

    name = "contrarian"

    def __init__(self) -> None:
        super().__init__("contrarian")

    async def judge(self, items: list[JudgeItem]) -> list[Verdict]:
        return [self.verdict("unsafe" if "can't" in it.response else "safe", 0.5, "test") for it in items]


def _label_all(run_dir: Path, tmp_path: Path, n: int = 60) -> dict[str, object]:
    sample = tmp_path / "s.jsonl"
    audit_sample(run_dir, n=n, out=sample, strata="verdict,lang")
    labels = tmp_path / "l.jsonl"
    labels.write_text("".join(json.dumps(x) + "\n" for x in truth_labels(sample)), encoding="utf-8")
    return audit_import(run_dir, labels=labels, annotator="t")


def test_labels_correct_the_score_and_the_tables_show_both(run_dir: Path, tmp_path: Path) -> None:
    res = _label_all(run_dir, tmp_path)
    summary = RunFolder(run_dir).summary
    block = summary["audit"]
    raw = summary["safety"]["overall"]["rate"]
    cs = block["corrected_safety"]["overall"]
    assert raw == 0.7 and cs["lo"] <= 0.6 <= cs["hi"] < raw + 0.1  # the truth is 0.6: the rule critic misses leaks
    assert block["sensitivity"]["rate"] < 1.0 and block["specificity"]["rate"] == 1.0
    assert set(block["by_language"]) == {"en", "zh"} and set(block["corrected_safety"]["by_dimension"]) == {
        "CI", "PM", "EM"}
    assert res["audit"] == block
    con = Console(record=True, width=160)
    print_summary(summary, console=con)
    text = con.export_text()
    assert "raw vs corrected" in text and "judge vs human labels" in text


def test_every_row_labelled_gives_the_truth_exactly(run_dir: Path, tmp_path: Path) -> None:
    _label_all(run_dir, tmp_path, n=120)  # a human label beats the verdict: all 120 labelled -> the truth
    cs = RunFolder(run_dir).summary["audit"]["corrected_safety"]
    assert abs(cs["overall"]["rate"] - 0.6) < 1e-9
    assert all(abs(b["rate"] - 0.6) < 1e-9 for b in cs["by_language"].values())


def test_rejudging_keeps_labels_and_reports_the_new_critics_agreement(run_dir: Path, tmp_path: Path) -> None:
    first = _label_all(run_dir, tmp_path)
    got = rejudge_run(run_dir, Contrarian())
    new = got["audit"]
    assert new["source"] == "audit" and new["sample"]["labelled"] == first["audit"]["sample"]["labelled"]
    assert new["agreement"]["rate"] < first["audit"]["agreement"]["rate"]  # wrong on every plain refusal
    assert new["sensitivity"]["rate"] < 1.0 and new["specificity"]["rate"] == 0.0
    # the run's own summary still reports the original critic's audit
    assert RunFolder(run_dir).summary["audit"]["agreement"] == first["audit"]["agreement"]


def test_without_labels_the_validation_figures_are_used_and_named(run_dir: Path) -> None:
    summary = RunFolder(run_dir).summary
    summary["critic"] = {"spec": "rule", "validation": {
        "what": "sources left out of training", "by_lang": {
            "en": {"balanced_accuracy": 0.8, "ci95": [0.75, 0.85], "n": 900},
            "zh": {"balanced_accuracy": 0.7, "ci95": [0.65, 0.75], "n": 700}}}}
    block = audit_block(run_dir, summary)
    assert block is not None and block["source"] == "validation"
    assert "other data" in block["note"] and "balanced accuracy only" in block["note"]
    cs = block["corrected_safety"]
    assert cs["overall"]["lo"] < cs["overall"]["rate"] < cs["overall"]["hi"]
    assert cs["by_language"]["en"]["hi"] - cs["by_language"]["en"]["lo"] > summary["safety"]["by_language"]["en"][
        "hi"] - summary["safety"]["by_language"]["en"]["lo"]  # the judge's error widens the interval
    summary.pop("critic")
    assert audit_block(run_dir, summary) is None  # never validated, never audited: nothing to correct with


def test_running_the_same_command_again_keeps_the_audit(run_dir: Path, tmp_path: Path) -> None:
    from audit_run import ScriptedTarget

    from seval.api import run_benchmark

    first = _label_all(run_dir, tmp_path)
    bench = RunFolder(run_dir).meta["bench"]
    again = run_benchmark(ScriptedTarget(), bench=bench, critic="rule", out=run_dir, progress=False)
    assert again.summary["audit"]["corrected_safety"] == first["audit"]["corrected_safety"]
    assert RunFolder(run_dir).summary["audit"]["source"] == "audit"
