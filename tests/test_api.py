"""`seval run` end to end: a real OpenAI-compatible server serving the embedded model, results and resume."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from seval.api import run_benchmark
from seval.errors import SevalError
from seval.io import starter_path
from seval.records import GenParams
from seval.runner.store import RunStore

pytestmark = pytest.mark.slow


def test_run_against_local_server_then_resume_without_calls(llama_server: str, tmp_path: Path) -> None:
    target = f"openai-compatible:{llama_server}#smollm2"
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "seval.cli", "run", "--target", target, "--limit", "6", "--critic", "rule",
           "--out", str(out), "--max-tokens", "24", "--concurrency", "2", "--quiet", "--json"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    summary = json.loads(p.stdout)
    assert summary["run"]["stats"]["called"] == 6
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text("utf-8").splitlines()]
    assert len(rows) == 6
    for r in rows:
        assert r["status"] == "ok" and isinstance(r["response"], str)
        assert r["verdict"] in ("safe", "unsafe") and r["critic"] == "rule"
        assert r["dimension"] and r["risk"] and r["lang"] in ("zh", "en")
    assert json.loads((out / "summary.json").read_text("utf-8"))["run"]["n_cases"] == 6
    # same command again: everything comes from the store, no model call
    p2 = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert p2.returncode == 0, p2.stderr
    s2 = json.loads(p2.stdout)
    assert s2["run"]["stats"]["called"] == 0 and s2["run"]["stats"]["cached"] == 6
    rows2 = [json.loads(line) for line in (out / "results.jsonl").read_text("utf-8").splitlines()]
    assert rows2 == rows
    store = RunStore(out / "store.sqlite")
    assert sum(store.counts().values()) == 6
    store.close()


def test_in_process_embedded_model_via_api(tmp_path: Path) -> None:
    pytest.importorskip("llama_cpp")
    res = run_benchmark("local:smollm2", bench=starter_path(), critic="rule", out=tmp_path / "r", limit=3,
                        lang="zh", params=GenParams(max_tokens=16), progress=False)
    assert len(res.rows) == 3 and all(r.lang == "zh" and r.status == "ok" for r in res.rows)
    assert res.summary["run"]["target"] == "local:smollm2"


def test_every_command_has_a_library_call() -> None:
    """The CLI is a thin layer: each command's work is one seval.api call."""
    import seval.api as api

    for name in ("run_benchmark", "arun_benchmark", "rejudge_run", "judge_pairs", "validate_critic", "defend",
                 "attack_file", "preview_attacks", "generate", "report", "study"):
        assert callable(getattr(api, name)), name
    with pytest.raises(SevalError, match="unknown study"):
        api.study("nope")
