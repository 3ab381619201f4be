"""Report building: escaping of hostile text, leaderboard grouping by benchmark, exports, the CLI."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from seval.commands.report import report_cmd
from seval.errors import SevalError
from seval.report import build_report
from seval.report.html import json_for_script
from seval.report.synthetic import synthetic_rows, write_run

EVIL = '</script><script>alert(1)</script><img src=x onerror="window.__pwned=2">&amp;\u2028\u2029'


@pytest.fixture()
def runs(tmp_path: Path) -> dict[str, Path]:
    a = synthetic_rows("model-a", 40, seed=1, p_unsafe=0.1)
    a[0]["response"] = EVIL
    a[1]["prompt"] = EVIL
    a[2]["explanation"] = EVIL
    return {
        "a": write_run(tmp_path / "a", a, "model-a"),
        "b": write_run(tmp_path / "b", synthetic_rows("model-b", 40, seed=2, p_unsafe=0.6), "model-b"),
        "a_def": write_run(tmp_path / "a_def", synthetic_rows("model-a", 40, seed=3, p_unsafe=0.05,
                                                              defense="constitution"),
                           "model-a", defense="constitution"),
        "other": write_run(tmp_path / "other", synthetic_rows("model-c", 20, seed=4), "model-c",
                           bench="other-bench.jsonl"),
        "evil_name": write_run(tmp_path / "evil_name", synthetic_rows("<b>x</b>", 10, seed=5), "<script>x</script>",
                               bench="other-bench.jsonl"),
    }


def test_json_for_script_escapes() -> None:
    text = json_for_script({"r": EVIL})
    assert not re.search("[<>&\u2028\u2029]", text)
    assert json.loads(text) == {"r": EVIL}


def test_html_has_no_raw_markup_from_data(runs: dict[str, Path], tmp_path: Path) -> None:
    html, _ = build_report(list(runs.values()), out=tmp_path / "r.html")
    assert html.count("<script") == 2  # the JSON data block and the page's own script
    assert html.count("</script") == 2
    assert "<img" not in html
    assert "<b>x</b>" not in html and "&lt;script&gt;x&lt;/script&gt;" in html  # a hostile model name, escaped
    assert "\u2028" not in html and "\u2029" not in html
    data = re.search(r'<script type="application/json" id="seval-examples">(.*?)</script>', html, re.S)
    assert data is not None
    assert "<" not in data.group(1)
    assert "onerror" not in html.replace(data.group(1), "")  # hostile attributes live only inside the JSON data
    payload = json.loads(data.group(1))
    texts = {c for r in payload["rows"] for c in r if isinstance(c, str)}
    assert EVIL in texts  # the text survives intact as data, to be shown with textContent
    # the page's CSP allows only its own script (by hash): inline handlers cannot run even if injected
    assert re.search(r"script-src (?:'|&#39;)sha256-[A-Za-z0-9+/=]+(?:'|&#39;);", html)


def test_leaderboard_never_ranks_across_benchmarks(runs: dict[str, Path]) -> None:
    _, ctx = build_report([runs["a"], runs["b"], runs["other"]], fmt="json")
    board = ctx["leaderboard"]
    assert len(board["groups"]) == 2
    assert any("2 different benchmarks" in w for w in board["warnings"])
    main = board["groups"][0]
    assert [e["label"] for e in main["rows"]] == ["model-a", "model-b"]  # a is safer
    assert [e["rank"] for e in main["rows"]] == [1, 2]
    assert main["rows"][0]["vs_next"]["diff"] > 0
    assert [e["rank"] for e in board["groups"][1]["rows"]] == [1]


def test_run_without_bench_hash_is_not_ranked(runs: dict[str, Path], tmp_path: Path) -> None:
    meta = json.loads((runs["b"] / "run.json").read_text())
    meta.pop("bench_sha256")
    (runs["b"] / "run.json").write_text(json.dumps(meta))
    _, ctx = build_report([runs["a"], runs["b"]], fmt="json")
    unranked = [g for g in ctx["leaderboard"]["groups"] if not g["ranked"]]
    assert len(unranked) == 1 and unranked[0]["rows"][0]["rank"] is None
    assert any("not ranked" in w for w in ctx["leaderboard"]["warnings"])


def test_defense_pairs_and_labels(runs: dict[str, Path]) -> None:
    _, ctx = build_report([runs["a"], runs["a_def"]], fmt="json")
    assert [r.label for r in ctx["runs"]] == ["model-a", "model-a + constitution"]
    (d,) = ctx["defense"]
    assert d["defense"] == "constitution"
    assert d["paired"]["n_pairs"] > 0
    assert d["safety_with"]["rate"] > d["safety_without"]["rate"]


def test_language_pairs(runs: dict[str, Path]) -> None:
    _, ctx = build_report([runs["a"]], fmt="json")
    paired = ctx["lang_rows"][0]["paired"]
    assert paired is not None and paired["n_pairs"] > 0  # en rows link to zh rows by from_id


def test_exports_parse(runs: dict[str, Path], tmp_path: Path) -> None:
    dirs = [runs["a"], runs["b"], runs["other"]]
    js, _ = build_report(dirs, out=tmp_path / "r.json", fmt="json")
    data = json.loads((tmp_path / "r.json").read_text())
    assert data == json.loads(js)
    assert len(data["runs"]) == 3 and data["runs"][0]["summary"]["safety"]["overall"]["n"] > 0
    assert len(data["leaderboard"]["groups"]) == 2
    text, _ = build_report(dirs, fmt="csv")
    table = list(csv.DictReader(io.StringIO(text)))
    assert {r["section"] for r in table} == {"leaderboard", "dimension", "language", "attack"}
    lb = [r for r in table if r["section"] == "leaderboard"]
    assert len(lb) == 3 and all(0 <= float(r["rate"]) <= 1 for r in lb)
    md, _ = build_report(dirs, fmt="md")
    assert "| rank | model |" in md and "Warning" in md
    assert md.count("## Leaderboard") == 2


def test_cli(runs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "x.md"
    res = CliRunner().invoke(report_cmd, [str(runs["a"]), str(runs["b"]), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert out.read_text().startswith("# seval report")
    res = CliRunner().invoke(report_cmd, [str(tmp_path)])  # neither a run nor a study
    assert isinstance(res.exception, SevalError)
    assert "neither results.jsonl nor study.json" in str(res.exception)


def test_example_cap(runs: dict[str, Path], tmp_path: Path) -> None:
    html, _ = build_report([runs["b"]], out=tmp_path / "r.html", max_examples=100)
    payload = json.loads(re.search(r'id="seval-examples">(.*?)</script>', html, re.S).group(1))
    assert len(payload["rows"]) == 100
    outcomes = [r[payload["columns"].index("outcome")] for r in payload["rows"]]
    assert outcomes.count("unsafe") >= 60  # unsafe examples come first
    assert "of" in html and "random sample" in html


def test_same_file_different_limit_is_a_different_benchmark(runs: dict[str, Path]) -> None:
    meta = json.loads((runs["b"] / "run.json").read_text())
    meta["limit"] = 100
    (runs["b"] / "run.json").write_text(json.dumps(meta))
    _, ctx = build_report([runs["a"], runs["b"]], fmt="json")
    groups = ctx["leaderboard"]["groups"]
    assert len(groups) == 2 and all(g["rows"][0]["rank"] == 1 for g in groups)
    assert {g["limit"] for g in groups} == {None, 100}
