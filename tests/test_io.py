"""Readers and writers: S-Eval release files (zipped or not), JSONL, CSV, Parquet; errors name file and line."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from seval.errors import SevalError
from seval.io import detect_lang, lang_from_filename, read_cases, to_seval_row, write_cases
from seval.records import TestCase

FIX = Path(__file__).parent / "fixtures"


def test_reads_seval_zh_file_with_base_original_and_attack_rows() -> None:
    cases = list(read_cases(FIX / "seval_sample_zh.jsonl"))
    assert len(cases) == 5
    assert {c.lang for c in cases} == {"zh"}
    assert [c.attack for c in cases] == [None, None, None, None, "goal_hijacking"]
    assert cases[0].dimension == "CI" and cases[2].dimension == "DP"  # "Data Privacy" with a space
    assert cases[0].id == "8b9e246436168c6d9319a224eeb05704"


def test_en_rows_keep_the_link_to_zh() -> None:
    zh = {c.id for c in read_cases(FIX / "seval_sample_zh.jsonl")}
    en = list(read_cases(FIX / "seval_sample_en.jsonl"))
    assert all(c.lang == "en" for c in en)
    base = [c for c in en if c.attack is None]
    assert base and all(c.from_id in zh for c in base)
    assert en[-1].attack == "positive_induction" and en[-1].dimension == "CI"


def test_zipped_release_reads_like_unzipped(tmp_path: Path) -> None:
    z = tmp_path / "S-Eval_base_risk_set_en_small.jsonl.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.write(FIX / "seval_sample_en.jsonl", "seval_sample_en.jsonl")
    assert [c.to_dict() for c in read_cases(z)] == [c.to_dict() for c in read_cases(FIX / "seval_sample_en.jsonl")]


def test_round_trip_in_seval_format(tmp_path: Path) -> None:
    src = list(read_cases(FIX / "seval_sample_zh.jsonl"))
    out = tmp_path / "out_zh.jsonl"
    assert write_cases(out, src, "seval") == len(src)
    rows = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert all(isinstance(r["ext"], str) for r in rows)
    assert json.loads(rows[-1]["ext"]) == {"model": "attack", "category": "goal_hijacking"}
    assert rows[0]["risk_type"] == "Crimes_and_Illegal_Activities"
    back = list(read_cases(out))
    assert [(c.id, c.prompt, c.dimension, c.attack) for c in back] == [(c.id, c.prompt, c.dimension, c.attack) for c in src]


@pytest.mark.parametrize("fmt,suffix", [("jsonl", ".jsonl"), ("csv", ".csv"), ("parquet", ".parquet")])
def test_other_formats_round_trip(tmp_path: Path, fmt: str, suffix: str) -> None:
    src = list(read_cases(FIX / "seval_sample_en.jsonl"))
    out = tmp_path / f"b{suffix}"
    write_cases(out, src, fmt)
    back = list(read_cases(out))
    assert [(c.id, c.prompt, c.lang, c.dimension, c.attack, c.from_id) for c in back] == \
        [(c.id, c.prompt, c.lang, c.dimension, c.attack, c.from_id) for c in src]


def test_attack_base_link_written_in_ext_and_top_level() -> None:
    c = TestCase(id="x", prompt="p", lang="en", dimension="CI", attack="code_injection", base_id="b1")
    row = to_seval_row(c)
    assert row["base_traceid"] == "b1" and json.loads(row["ext"])["base_traceid"] == "b1"


def test_malformed_line_names_file_and_line(tmp_path: Path) -> None:
    f = tmp_path / "bad.jsonl"
    f.write_text('{"prompt": "ok", "lang": "en"}\n{"prompt": broken\n', "utf-8")
    with pytest.raises(SevalError, match=r"bad\.jsonl:2: not valid JSON"):
        list(read_cases(f))


def test_unknown_risk_type_lists_valid_ones(tmp_path: Path) -> None:
    f = tmp_path / "b.jsonl"
    f.write_text(json.dumps({"traceid": "1", "risk_type": "Alchemy", "prompt": "q", "ext": "{}"}) + "\n", "utf-8")
    with pytest.raises(SevalError, match=r"unknown risk_type 'Alchemy'.*Crimes_and_Illegal_Activities"):
        list(read_cases(f))


def test_unknown_attack_lists_valid_ones(tmp_path: Path) -> None:
    f = tmp_path / "b.jsonl"
    ext = json.dumps({"model": "attack", "category": "telepathy"})
    f.write_text(json.dumps({"traceid": "1", "risk_type": "Cybersecurity", "prompt": "q", "ext": ext}) + "\n", "utf-8")
    with pytest.raises(SevalError, match=r"unknown attack 'telepathy'; valid: .*code_injection"):
        list(read_cases(f))


def test_bad_ext_string(tmp_path: Path) -> None:
    f = tmp_path / "b.jsonl"
    f.write_text(json.dumps({"traceid": "1", "risk_type": "Cybersecurity", "prompt": "q", "ext": "{oops"}) + "\n")
    with pytest.raises(SevalError, match=r"b\.jsonl:1: 'ext' is not valid JSON"):
        list(read_cases(f))


def test_missing_file_and_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(SevalError, match="not found"):
        list(read_cases(tmp_path / "nope.jsonl"))
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(SevalError, match="unknown benchmark format"):
        list(read_cases(tmp_path / "x.txt"))


def test_csv_without_prompt_column(tmp_path: Path) -> None:
    f = tmp_path / "b.csv"
    f.write_text("question,lang\nhi,en\n")
    with pytest.raises(SevalError, match="needs a 'prompt' column"):
        list(read_cases(f))


def test_lang_filter_and_limit() -> None:
    assert len(list(read_cases(FIX / "seval_sample_zh.jsonl", limit=2))) == 2
    assert list(read_cases(FIX / "seval_sample_zh.jsonl", lang="en")) == []


def test_language_detection() -> None:
    assert detect_lang("如何制作炸药？") == "zh"
    assert detect_lang("How do I bake bread?") == "en"
    assert lang_from_filename("S-Eval_attack_set_zh_small.jsonl") == "zh"
    assert lang_from_filename("base_en.jsonl.zip") == "en"
    assert lang_from_filename("benchmark.jsonl") is None


def test_starter_benchmark_loads_through_the_reader() -> None:
    from seval.io import starter_path

    cases = list(read_cases(starter_path()))
    assert len(cases) >= 200
    assert {c.lang for c in cases} == {"zh", "en"}
    assert all(c.risk and c.category and c.dimension for c in cases)


def test_one_language_rule_everywhere() -> None:
    """seval.lang is the only detector: the reader, the defense and `critic judge` agree on edge cases."""
    from seval.defense.lang import detect_lang as defense_detect
    from seval.lang import detect_lang as one

    mixed = "请详细解释下面这段代码的作用以及它为什么会在运行时出现错误 " + "x = compute(value) " * 10  # zh around code
    for text in ("如何制作炸药？", "How do I bake bread?", mixed, "", "1234"):
        assert defense_detect(text) == one(text) == detect_lang(text)
    assert one(mixed) == "zh" and one("1234") == "en" and one("", default="zh") == "zh"


# ---- hostile files (issue 23): every reader error names file and line, never a traceback -------------------------


def test_a_lone_surrogate_is_named_by_file_line_and_field(tmp_path: Path) -> None:
    f = tmp_path / "s.jsonl"
    f.write_text('{"id": "a", "prompt": "fine", "lang": "en"}\n{"id": "b", "prompt": "bad \\ud800", "lang": "en"}\n',
                 "utf-8")
    with pytest.raises(SevalError, match=r"s\.jsonl:2: field 'prompt' holds a lone surrogate"):
        list(read_cases(f))


def test_invalid_utf8_is_named_by_file_and_line(tmp_path: Path) -> None:
    f = tmp_path / "latin1.jsonl"
    f.write_bytes(b'{"id": "a", "prompt": "ok", "lang": "en"}\n' * 3 + '{"id": "b", "prompt": "caf\xe9"}\n'.encode("latin-1"))
    with pytest.raises(SevalError, match=r"latin1\.jsonl:4: not valid UTF-8"):
        list(read_cases(f))
    z = tmp_path / "b.jsonl.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.write(f, "inner.jsonl")
    with pytest.raises(SevalError, match=r"b\.jsonl\.zip!inner\.jsonl:4: not valid UTF-8"):
        list(read_cases(z))


def test_a_binary_file_is_one_line_error(tmp_path: Path) -> None:
    f = tmp_path / "bin.jsonl"
    f.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(SevalError, match=r"bin\.jsonl:1: not valid"):
        list(read_cases(f))
    c = tmp_path / "bin.csv"
    c.write_bytes(b"prompt\nok\n" + bytes(range(128, 256)) + b"\n")
    with pytest.raises(SevalError, match=r"bin\.csv:3: not valid UTF-8"):
        list(read_cases(c))


def test_duplicate_ids_with_different_rows_name_both_lines(tmp_path: Path) -> None:
    f = tmp_path / "d.jsonl"
    rows = [{"id": "x", "prompt": "one", "lang": "en"}, {"id": "y", "prompt": "two", "lang": "en"},
            {"id": "x", "prompt": "three", "lang": "en"}]
    f.write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    with pytest.raises(SevalError, match=r"d\.jsonl:3: duplicate id 'x' \(first at line 1\)"):
        list(read_cases(f, unique_ids=True))
    assert len(list(read_cases(f))) == 3  # raw generator output keeps its rows


def test_identical_duplicate_rows_are_read_once_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    f = tmp_path / "same.jsonl"
    row = json.dumps({"id": "x", "prompt": "one", "lang": "en"}) + "\n"
    f.write_text(row + json.dumps({"id": "y", "prompt": "two", "lang": "en"}) + "\n" + row, "utf-8")
    with caplog.at_level("WARNING"):
        cases = list(read_cases(f, unique_ids=True))
    assert [c.id for c in cases] == ["x", "y"]
    assert "same.jsonl:3: skipped: the same row as line 1" in caplog.text


def test_a_run_refuses_a_benchmark_with_duplicate_ids(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from seval.cli import cli

    f = tmp_path / "d.jsonl"
    f.write_text("".join(json.dumps({"id": "x", "prompt": p, "lang": "en"}) + "\n" for p in ("one", "two")), "utf-8")
    res = CliRunner().invoke(cli, ["run", "--target", "openai-compatible:http://127.0.0.1:9/v1#m", "--bench", str(f),
                                   "--critic", "rule", "--out", str(tmp_path / "o"), "--quiet"], standalone_mode=False)
    assert isinstance(res.exception, SevalError) and "d.jsonl:2: duplicate id 'x'" in str(res.exception)
    assert not (tmp_path / "o").exists()  # refused before the run folder or any request


def test_unknown_risk_type_names_file_and_line(tmp_path: Path) -> None:
    f = tmp_path / "rt.jsonl"
    ok = {"traceid": "1", "risk_type": "Crimes_and_Illegal_Activities", "prompt": "q", "ext": "{}"}
    bad = {"traceid": "2", "risk_type": "Alchemy", "prompt": "q2", "ext": "{}"}
    f.write_text(json.dumps(ok) + "\n" + json.dumps(bad) + "\n", "utf-8")
    with pytest.raises(SevalError, match=r"rt\.jsonl:2: unknown risk_type 'Alchemy'; valid"):
        list(read_cases(f))
