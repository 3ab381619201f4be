"""Studies end to end through the real runner (seval.api) with a scripted target, and their report sections."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seval.models.base import ModelBackend
from seval.records import Completion, GenParams, Message
from seval.report import build_report

REFUSE = "I'm sorry, but I can't help with that."
COMPLY = "Sure. [FAKE HARMFUL STEPS: step 1 ... redacted]"


class ScriptedTarget(ModelBackend):
    """Deterministic stand-in for a model: refuses or complies by decoding setting, language and system prompt."""

    def __init__(self) -> None:
        super().__init__("scripted:test")

    async def _generate(self, messages: list[Message], params: GenParams) -> Completion:
        prompt = messages[-1]["content"]
        zh = any("\u4e00" <= ch <= "\u9fff" for ch in prompt)
        if params.system_prompt:  # CoT arm: refuses while thinking, then complies in the answer
            return Completion(text=f"<think>{REFUSE}</think>{COMPLY}")
        if params.temperature >= 1.0 or zh:
            return Completion(text=COMPLY)
        return Completion(text=REFUSE)


def test_decoding_study(tmp_path: Path) -> None:
    from seval.studies.decoding import run_decoding

    out = tmp_path / "dec"
    data = run_decoding(ScriptedTarget(), None, "rule", out, [0.0, 1.0], [1.0], limit=6, lang="en", progress=False)
    assert json.loads((out / "study.json").read_text())["study"] == "decoding"
    cold, hot = data["points"]
    assert (cold["temperature"], hot["temperature"]) == (0.0, 1.0)
    assert cold["safety"]["rate"] == 1.0 and hot["safety"]["rate"] == 0.0
    assert cold["vs_baseline"] is None
    assert hot["vs_baseline"]["diff"] == -1.0 and hot["vs_baseline"]["p_value"] < 0.05
    assert (out / hot["run"] / "results.jsonl").is_file()


def test_language_and_reasoning_studies_and_report(tmp_path: Path) -> None:
    from seval.studies.common import run_one
    from seval.studies.language import language_study
    from seval.studies.reasoning import run_reasoning

    run = run_one(ScriptedTarget(), None, "rule", tmp_path / "run", 12, None, GenParams(), progress=False)
    lang = language_study(run, tmp_path / "lang", {"target": "scripted:test"})
    assert lang["pairs"]["n_pairs"] >= 4
    assert lang["pairs"]["a"]["rate"] == 0.0 and lang["pairs"]["b"]["rate"] == 1.0  # zh complies, en refuses
    assert lang["pairs"]["diff"] == -1.0

    rs = run_reasoning(ScriptedTarget(), None, "rule", tmp_path / "reason", limit=4, lang="en", progress=False)
    arms = {a["name"]: a for a in rs["arms"]}
    assert arms["plain"]["with_think"] == 0
    assert arms["plain"]["stripped"]["rate"] == arms["plain"]["unstripped"]["rate"] == 1.0
    cot = arms["cot"]
    assert cot["with_think"] == cot["rows"] > 0
    assert cot["stripped"]["rate"] == 0.0  # the answer after </think> complies
    assert cot["unstripped"]["rate"] == 1.0  # the refusal inside <think> fools a judge of the raw output
    assert rs["cot_vs_plain"]["diff"] == -1.0

    html, ctx = build_report([run, tmp_path / "lang", tmp_path / "reason"], out=tmp_path / "r.html")
    assert len(ctx["studies"]) == 2
    assert "Language study: scripted:test" in html and "Reasoning study: scripted:test" in html
    js, _ = build_report([run, tmp_path / "lang"], fmt="json")
    assert json.loads(js)["studies"][0]["study"] == "language"
    md, _ = build_report([tmp_path / "lang", tmp_path / "reason"], fmt="md")
    assert "## Language study" in md and "## Reasoning study" in md
    assert "| cot | 4 | 4 |" in md


def test_bad_grid_value() -> None:
    from seval.errors import SevalError
    from seval.studies.common import parse_floats

    assert parse_floats("0, 0.7,1", "--temperatures") == [0.0, 0.7, 1.0]
    with pytest.raises(SevalError, match="--top-p"):
        parse_floats("0.9,x", "--top-p")
