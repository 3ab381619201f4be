"""What the CLI and README promise exists: taxonomy --lang in JSON, critic subcommands, budgets, extras."""

from __future__ import annotations

import builtins
import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from seval.cli import cli
from seval.errors import SevalError

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(("lang", "kept", "dropped"), [("en", "name_en", "name_zh"), ("zh", "name_zh", "name_en")])
def test_taxonomy_json_honours_lang(lang: str, kept: str, dropped: str) -> None:
    res = CliRunner().invoke(cli, ["taxonomy", "--format", "json", "--lang", lang])
    assert res.exit_code == 0, res.output
    text = res.output
    assert f'"{kept}"' in text and f'"{dropped}"' not in text
    data = json.loads(text)
    assert data  # still the whole tree


def test_taxonomy_json_both_keeps_both_names() -> None:
    res = CliRunner().invoke(cli, ["taxonomy", "--format", "json"])
    assert '"name_en"' in res.output and '"name_zh"' in res.output


def test_critic_help_promises_only_existing_subcommands() -> None:
    top = CliRunner().invoke(cli, ["--help"]).output
    line = next(x for x in top.splitlines() if x.strip().startswith("critic"))
    sub = CliRunner().invoke(cli, ["critic", "--help"]).output
    commands = set(re.findall(r"^\s{2}(\w+)\s", sub.split("Commands:")[1], re.M))
    for verb in ("train", "validate", "judge", "list"):
        if verb in line.lower() or verb in sub.split("Commands:")[0].lower():
            assert verb in commands, f"critic help mentions {verb!r} but there is no such subcommand"


def test_readme_budgets_are_real_options() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "token and cost budgets" not in readme
    help_text = CliRunner().invoke(cli, ["run", "--help"]).output
    red_help = CliRunner().invoke(cli, ["redteam", "--help"]).output  # its own limits (--max-turns, ...)
    for opt in re.findall(r"`(--max-[a-z-]+)`", readme):
        if opt != "--max-tokens":
            assert opt in help_text or opt in red_help, f"README names {opt}, which no seval command has"
    for opt in ("--max-requests", "--max-cost", "--max-retries"):  # the run's budgets hold for red teaming too
        assert opt in red_help


def test_psutil_and_pyarrow_are_not_core_dependencies() -> None:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    core = " ".join(project["dependencies"])
    assert "psutil" not in core and "pyarrow" not in core
    assert any("pyarrow" in d for d in project["optional-dependencies"]["parquet"])


def test_parquet_without_pyarrow_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from seval.io import read_cases, write_cases
    from seval.records import TestCase

    real = builtins.__import__

    def fake(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("pyarrow"):
            raise ImportError("no pyarrow")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake)
    with pytest.raises(SevalError, match=r"seval\[parquet\]"):
        write_cases(tmp_path / "x.parquet", [TestCase(id="a", prompt="p", lang="en")])
    (tmp_path / "y.parquet").write_bytes(b"PAR1")
    with pytest.raises(SevalError, match=r"seval\[parquet\]"):
        list(read_cases(tmp_path / "y.parquet"))
