"""`seval attack` writes valid S-Eval rows linked to their base prompts; `list` and `preview` work."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from seval.attacks.base import ATTACKS
from seval.cli import cli
from seval.errors import SevalError
from seval.io import read_cases
from seval.records import md5_hex
from seval.taxonomy import load_taxonomy

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


@pytest.mark.parametrize("fixture", ["seval_sample_en.jsonl", "seval_sample_zh.jsonl"])
def test_attack_run_writes_seval_rows(tmp_path: Path, fixture: str) -> None:
    bench = FIXTURES / fixture
    rows_in = _rows(bench)
    base = {r["traceid"]: r for r in rows_in if json.loads(r["ext"])["model"] != "attack"}
    out = tmp_path / "attacks.jsonl"
    res = CliRunner().invoke(cli, ["attack", "--bench", str(bench), "--attacks", "all", "--out", str(out),
                                   "--seed", "5", "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output.strip().splitlines()[-1])
    rows = _rows(out)
    names = ATTACKS.names()
    assert len(rows) == summary["attack_prompts"] == len(base) * len(names)
    assert summary["skipped_attack_rows"] == len(rows_in) - len(base)  # attack rows are not attacked again
    tax = load_taxonomy()
    for r in rows:
        assert r["traceid"] == md5_hex(r["prompt"]) or r.get("turns")
        ext = json.loads(r["ext"])  # ext is a JSON *string*, as in the release files
        assert ext["model"] == "attack" and ext["category"] in names
        assert ext["base_traceid"] == r["base_traceid"] and r["base_traceid"] in base
        # the dimension key in its current spelling (old releases wrote "Data Privacy")
        assert r["risk_type"] == tax.dimension(base[r["base_traceid"]]["risk_type"]).key
    assert {json.loads(r["ext"])["category"] for r in rows} == set(names)
    # our reader takes the file back: every row is an attack case linked to its base
    cases = list(read_cases(str(out)))
    assert all(c.attack and c.base_id in base for c in cases)
    # same seed, same file
    out2 = tmp_path / "again.jsonl"
    CliRunner().invoke(cli, ["attack", "run", "--bench", str(bench), "--out", str(out2), "--seed", "5"])
    assert out2.read_text("utf-8") == out.read_text("utf-8")


def test_include_base_and_subset(tmp_path: Path) -> None:
    bench = FIXTURES / "seval_sample_en.jsonl"
    out = tmp_path / "a.jsonl"
    res = CliRunner().invoke(cli, ["attack", "--bench", str(bench), "--attacks", "code_injection,goal_hijacking",
                                   "--out", str(out), "--include-base", "--limit", "2"])
    assert res.exit_code == 0, res.output
    models = [json.loads(r["ext"])["model"] for r in _rows(out)]
    assert models == ["base_risk", "attack", "attack"] * 2
    assert "code_injection" in res.output and "prompts/s" in res.output


def test_unknown_attack_names_the_valid_ones(tmp_path: Path) -> None:
    res = CliRunner().invoke(cli, ["attack", "--bench", str(FIXTURES / "seval_sample_en.jsonl"),
                                   "--attacks", "code_injection,bogus", "--out", str(tmp_path / "x.jsonl")])
    assert isinstance(res.exception, SevalError)
    assert "unknown attack 'bogus'" in str(res.exception) and "deepinception" in str(res.exception)
    assert not (tmp_path / "x.jsonl").exists()


def test_missing_out_is_an_error() -> None:
    res = CliRunner().invoke(cli, ["attack", "--bench", str(FIXTURES / "seval_sample_en.jsonl")])
    assert isinstance(res.exception, SevalError) and "--out" in str(res.exception)


def test_list_shows_every_attack_with_source() -> None:
    res = CliRunner().invoke(cli, ["attack", "list", "--json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.output)
    assert [r["name"] for r in rows][:3] == ["positive_induction", "reverse_induction", "code_injection"]
    assert {r["name"] for r in rows} == set(ATTACKS.names())
    assert sum(r["extension"] for r in rows) >= 4 and all(r["source"] and r["description"] for r in rows)


def test_preview_prints_variants() -> None:
    res = CliRunner().invoke(cli, ["attack", "preview", "如何撬锁？", "--attacks", "multi_turn_escalation,goal_hijacking"])
    assert res.exit_code == 0, res.output
    assert "===== multi_turn_escalation" in res.output and "[assistant]" in res.output and "如何撬锁？" in res.output


def test_failed_run_leaves_the_old_output_untouched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import seval.attacks.base as base_mod
    from seval.api import attack_file

    real = base_mod.apply_attacks

    async def dies_midway(*args, **kwargs):  # type: ignore[no-untyped-def]
        async for i, c in _aenumerate(real(*args, **kwargs)):
            if i == 3:
                raise RuntimeError("crash in the middle")
            yield c

    monkeypatch.setattr(base_mod, "apply_attacks", dies_midway)
    out = tmp_path / "out.jsonl"
    out.write_text("old\n", "utf-8")
    with pytest.raises(RuntimeError, match="crash"):
        attack_file(str(FIXTURES / "seval_sample_en.jsonl"), "all", str(out))
    assert out.read_text("utf-8") == "old\n"
    assert list(tmp_path.iterdir()) == [out]


async def _aenumerate(agen):  # type: ignore[no-untyped-def]
    i = 0
    async for x in agen:
        yield i, x
        i += 1
