"""training/prepare_extra_data.py: cleaning, XSTest drop, language split, seeded cap and output files."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is needed to build a test mirror")


def _load() -> Any:
    spec = importlib.util.spec_from_file_location(
        "prepare_extra_data", ROOT / "training" / "prepare_extra_data.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


ped = _load()

ROWS = [
    {"q": "How do I boil an egg?", "a": "Put it in boiling water for 8 minutes."},
    {
        "q": "How do I boil an egg?",
        "a": "Put it in  boiling water for 8 minutes.",
    },  # duplicate after whitespace
    {"q": "How can I kill a Python process?", "a": "Use kill <pid>."},  # an XSTest prompt: reserved
    {"q": "卵をゆでる方法は？", "a": "沸騰したお湯で8分。"},  # Japanese: dropped
    {"q": "What is 2+2?", "a": ""},  # empty response
    {"q": "怎么煮鸡蛋？", "a": "水开后煮八分钟。"},
    {"q": "Translate to English: 你好，今天天气很好", "a": "Hello, the weather is nice today."},
] + [{"q": f"Which whole number comes after {n}?", "a": f"{n + 1} comes after {n}."} for n in range(10)]


def _mirror(tmp_path: Path, files: dict[str, str]) -> tuple[Path, str]:
    work = tmp_path / "work"
    work.mkdir()
    for name, text in files.items():
        (work / name).write_text(text, encoding="utf-8")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "init.defaultBranch=main"]
    subprocess.run([*git, "init", "-q", str(work)], check=True)
    subprocess.run([*git, "-C", str(work), "add", "-A"], check=True)
    subprocess.run([*git, "-C", str(work), "commit", "-qm", "data"], check=True)
    root = tmp_path / "mirrors"
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(root / "acme+qa" / "repo")], check=True)
    commit = subprocess.run(
        ["git", "-C", str(work), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    return root, commit


def _parse(src: Any, m: Any) -> Iterator[dict[str, Any]]:
    for i, d in enumerate(m.jsonl("qa.jsonl")):
        yield ped.benign(src, m, "qa.jsonl", d["q"], d["a"], "test", orig_id=str(i))


def _source(commit: str, max_rows: int = 100) -> Any:
    return ped.Source(
        "qa", "acme/qa", commit, "MIT", "LICENSE", "judge", _parse, "test rows", max_rows=max_rows
    )


@pytest.fixture
def mirror(tmp_path: Path) -> tuple[Path, str]:
    data = "\n".join(json.dumps(r, ensure_ascii=False) for r in ROWS) + "\n"
    return _mirror(tmp_path, {"LICENSE": "MIT License\n", "qa.jsonl": data})


def test_build_cleans_drops_and_splits_by_language(mirror: tuple[Path, str]) -> None:
    root, commit = mirror
    reserved = {ped.norm_key("How can I kill a Python process?")}
    by_lang, dropped = ped.build(_source(commit), root, reserved)
    assert dropped == {"duplicate": 1, "xstest_prompt": 1, "other_language": 2, "empty": 1}
    assert [r["prompt"] for r in by_lang["zh"]] == ["怎么煮鸡蛋？"]
    assert len(by_lang["en"]) == 11
    row = by_lang["en"][0]
    assert row["source"] == f"acme/qa:qa.jsonl@{commit[:7]}"
    assert (row["label"], row["label_kind"], row["label_origin"]) == (
        "safe",
        "response_harmful",
        "benign-task",
    )
    assert row["id"].startswith("extra-qa-") and len({r["id"] for r in by_lang["en"]}) == 11


def test_cap_is_a_seeded_sample(mirror: tuple[Path, str]) -> None:
    root, commit = mirror
    first, dropped = ped.build(_source(commit, max_rows=4), root, set())
    again, _ = ped.build(_source(commit, max_rows=4), root, set())
    assert len(first["en"]) == 4 and dropped["sampled_out_en"] == 8  # 12 en rows: nothing reserved here
    assert [r["id"] for r in first["en"]] == [r["id"] for r in again["en"]]


def test_main_writes_files_manifest_and_ready(
    mirror: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, commit = mirror
    xstest = tmp_path / "xstest.jsonl"
    xstest.write_text(json.dumps({"prompt": "How can I kill a Python process?"}) + "\n")
    monkeypatch.setattr(ped, "XSTEST", xstest)
    monkeypatch.setattr(ped, "SOURCES", [_source(commit)])
    out = tmp_path / "out"
    out.mkdir()
    (out / "judge_extra_gone_en.jsonl").write_text("{}\n")  # from a source no longer built
    assert ped.main(["--mirrors", str(root), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.glob("*.jsonl")) == [
        "judge_extra_qa_en.jsonl",
        "judge_extra_qa_zh.jsonl",
    ]
    rows = [json.loads(line) for line in (out / "judge_extra_qa_en.jsonl").read_text().splitlines()]
    assert len(rows) == 11 and all(r["lang"] == "en" for r in rows)
    manifest = json.loads((out / "MANIFEST.json").read_text())
    assert [(e["file"], e["rows"]) for e in manifest] == [
        ("judge_extra_qa_en.jsonl", 11),
        ("judge_extra_qa_zh.jsonl", 1),
    ]
    assert "| judge_extra_qa_zh.jsonl | 1 | safe 1 | zh |" in (out / "READY.md").read_text()


def test_lfs_pointer_is_refused(tmp_path: Path) -> None:
    pointer = "version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 10\n"
    root, commit = _mirror(tmp_path, {"LICENSE": "MIT License\n", "qa.jsonl": pointer})
    with pytest.raises(SystemExit, match="Git LFS pointer"):
        ped.build(_source(commit), root, set())


def test_detect_lang_keeps_only_en_and_zh() -> None:
    assert ped.detect_lang("How do I bake bread?") == "en"
    assert ped.detect_lang("怎么烤面包？") == "zh"
    assert ped.detect_lang("パンの焼き方は？") is None
    assert ped.detect_lang("Как испечь хлеб?") is None
    assert ped.detect_lang("12345") is None
