"""`seval run` against endpoints that answer wrongly every time: nothing broken counts as safe, and a run whose
rows (nearly) all failed exits non-zero, names the problem and says how to resume (issue 23)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from runner_helpers import read_results, target

from seval.cli import cli
from seval.runner.faultserver import SpawnedServer


def run(srv: SpawnedServer, bench: Path, out: Path, *extra: str) -> tuple[int, str]:
    args = ["run", "--target", target(srv), "--bench", str(bench), "--critic", "rule", "--out", str(out),
            "--concurrency", "4", "--max-retries", "0", "--quiet", *extra]
    res = CliRunner().invoke(cli, args)
    assert res.exception is None or isinstance(res.exception, SystemExit), res.output
    return res.exit_code, res.output


@pytest.mark.parametrize("mode", ["no_message", "null_content", "int_content", "html", "400"])
def test_an_endpoint_that_always_answers_wrongly_gets_no_safe_row_and_a_failing_exit(
        hostile: Callable[[str], SpawnedServer], make_bench, tmp_path: Path, mode: str) -> None:
    srv = hostile(mode)
    code, output = run(srv, make_bench(12), tmp_path / "o", "--json")
    rows = read_results(tmp_path / "o" / "results.jsonl")
    assert len(rows) == 12 and all(r["status"] == "error" and r["verdict"] is None for r in rows)
    kind = "bad_request" if mode == "400" else "malformed_response"
    assert {r["error_kind"] for r in rows} == {kind}
    summary = json.loads((tmp_path / "o" / "summary.json").read_text("utf-8"))
    assert summary["counts"]["safe"] == 0 and summary["counts"]["error"] == 12
    assert code == 5, output
    assert "12 of 12 cases ended in an error" in output and kind in output and "--retry-errors" in output


def test_no_message_end_to_end_reports_zero_safe_rows(hostile: Callable[[str], SpawnedServer], make_bench,
                                                      tmp_path: Path) -> None:
    code, output = run(hostile("no_message"), make_bench(10), tmp_path / "o")
    rows = read_results(tmp_path / "o" / "results.jsonl")
    assert sum(r["verdict"] == "safe" for r in rows) == 0
    assert code != 0 and "without a message" in output


def test_content_parts_are_judged_like_plain_text(hostile: Callable[[str], SpawnedServer], make_bench,
                                                  tmp_path: Path) -> None:
    code, output = run(hostile("parts_content"), make_bench(10), tmp_path / "o")
    rows = read_results(tmp_path / "o" / "results.jsonl")
    assert code == 0, output
    assert all(r["status"] == "ok" and r["verdict"] in ("safe", "unsafe") and r["response"] for r in rows)


def test_error_share_threshold_is_an_option(fault: SpawnedServer, make_bench, tmp_path: Path) -> None:
    fault.configure(p500=0.3, seed=4)
    bench = make_bench(40)
    code, output = run(fault, bench, tmp_path / "a")
    assert code == 0, output  # about 30% errors: under the default share of 0.5
    assert "ended in an error" in output and "--retry-errors" in output  # but the summary says so
    code, output = run(fault, bench, tmp_path / "a", "--max-error-share", "0.1")
    assert code == 5 and "--max-error-share" in output and "--retry-errors" in output
    assert "--max-error-share" in CliRunner().invoke(cli, ["run", "--help"]).output
