"""The command line: every command answers --help; user errors are one line with exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from seval.cli import LAZY_COMMANDS

FIX = Path(__file__).parent / "fixtures"


def seval(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "seval.cli", *args], capture_output=True, text=True, timeout=120)


def test_version_and_help() -> None:
    assert "seval" in seval("--version").stdout
    out = seval("--help").stdout
    for name in LAZY_COMMANDS:
        assert name in out


@pytest.mark.parametrize("cmd", sorted(LAZY_COMMANDS))
def test_every_command_has_help(cmd: str) -> None:
    p = seval(cmd, "--help")
    assert p.returncode == 0, p.stderr
    assert "not available" not in p.stdout + p.stderr


def test_taxonomy_json_shape() -> None:
    data = json.loads(seval("taxonomy", "--format", "json").stdout)
    dims = data["dimensions"]
    assert len(dims) == 8
    cats = [c for d in dims for c in d["categories"]]
    risks = [r for c in cats for r in c["risks"]]
    assert len(cats) == 25 and len(risks) >= 102
    assert all({"id", "name_en", "name_zh"} <= set(n) for n in [*dims, *cats, *risks])


def test_taxonomy_tree() -> None:
    out = seval("taxonomy").stdout
    assert "Crimes and Illegal Activities" in out and "违法犯罪" in out


def test_bench_stats_json() -> None:
    data = json.loads(seval("bench", "stats", str(FIX / "seval_sample_zh.jsonl"), "--format", "json").stdout)
    assert data["total"] == 5
    assert data["by_language"] == {"zh": 5}
    assert data["by_attack"] == {"base": 4, "goal_hijacking": 1}
    assert data["by_dimension"]["CI"] == 2


def test_user_errors_are_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "a"}\nnot json\n')
    p = seval("bench", "stats", str(bad))
    assert p.returncode == 2
    assert p.stderr.strip().count("\n") == 0 and "bad.jsonl:2" in p.stderr
    p = seval("run", "--target", "nosuch:model", "--bench", str(FIX / "seval_sample_zh.jsonl"), "--quiet")
    assert p.returncode == 2 and "unknown model backend 'nosuch'" in p.stderr
    p = seval("run", "--critic", "oracle", "--bench", str(FIX / "seval_sample_zh.jsonl"), "--quiet")
    assert p.returncode == 2 and "unknown critic 'oracle'" in p.stderr
