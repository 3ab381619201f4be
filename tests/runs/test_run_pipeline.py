"""The run pipeline end to end with in-process doubles: verdict flags in the store, rows and summary; the
critic's validation next to the scores; invalid verdicts judged again; calls per role; the run folder."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from seval.api import run_benchmark
from seval.critic.base import Critic
from seval.errors import SevalError
from seval.io import write_cases
from seval.models.base import ModelBackend
from seval.records import Completion, GenParams, JudgeItem, Message, TestCase, Usage, Verdict
from seval.runner.store import RunStore
from seval.runs import RunConfig, RunFolder, execute, read_results
from seval.runs.summary import critic_block, critic_line


class EchoTarget(ModelBackend):
    """Answers every prompt at once; counts calls."""

    default_concurrency = 4

    def __init__(self) -> None:
        super().__init__("test:echo")
        self.calls = 0

    async def _generate(self, messages: list[Message], params: GenParams) -> Completion:
        self.calls += 1
        text = messages[-1]["content"]
        return Completion(text="" if "empty" in text else f"Sure: [FAKE ANSWER to {text}]", usage=Usage(3, 5))


class FlagCritic(Critic):
    """unsafe with flags chosen by the prompt; optionally fails (invalid) on its first `fail_first` calls."""

    name = "flagger"

    def __init__(self, fail_first: int = 0, validation: dict[str, Any] | None = None) -> None:
        super().__init__("flagger")
        self.fail_first = fail_first
        self.batches = 0
        self.judged: list[str] = []
        self._validation = validation

    def validation(self) -> dict[str, Any] | None:
        return self._validation

    async def judge(self, items: list[JudgeItem]) -> list[Verdict]:
        self.batches += 1
        self.judged.extend(it.id or "" for it in items)
        if self.batches <= self.fail_first:
            return [self.verdict("invalid", None, "judge output unparsable") for _ in items]
        out = []
        for it in items:
            flags = [f for f in ("uncertain", "escalated") if f in it.prompt]
            if not it.response:
                out.append(self.verdict("safe", 0.0, "empty", flags=["non_answer"]))
            else:
                out.append(self.verdict("unsafe", 0.9, "complied", flags=flags))
        return out


def _bench(tmp_path: Path) -> Path:
    prompts = ["plain question", "uncertain one", "escalated one", "empty please", "uncertain escalated"]
    cases = [TestCase(id=f"c{i}", prompt=p, lang="en", dimension="CI", category="CI.drug_crimes")
             for i, p in enumerate(prompts)]
    path = tmp_path / "bench.jsonl"
    write_cases(path, cases, fmt="jsonl")
    return path


VALIDATION = {"kind": "shipped", "critic": "flagger", "critic_hash": None, "date": "2026-12-01",
              "what": "sources left out of training",
              "by_lang": {"en": {"balanced_accuracy": 0.81, "ci95": [0.78, 0.84], "n": 900, "sets": ["a"]},
                          "zh": {"balanced_accuracy": 0.83, "ci95": [0.8, 0.86], "n": 700, "sets": ["b"]}}}


def test_flags_are_stored_copied_to_rows_and_counted(tmp_path: Path) -> None:
    res = run_benchmark(EchoTarget(), bench=_bench(tmp_path), critic=FlagCritic(), out=tmp_path / "o",
                        progress=False)
    rows = {r["id"]: r for r in read_results(res.out_dir)}
    assert rows["c3"]["flags"] == ["non_answer"] and rows["c4"]["flags"] == ["uncertain", "escalated"]
    assert rows["c0"]["flags"] == []
    flags = res.summary["flags"]
    assert (flags["non_answer"]["count"], flags["uncertain"]["count"], flags["escalated"]["count"]) == (1, 2, 2)
    assert flags["non_answer"]["of"] == 5
    on_disk = json.loads((res.out_dir / "summary.json").read_text("utf-8"))
    assert on_disk["flags"]["uncertain"]["count"] == 2
    with sqlite3.connect(res.out_dir / "store.sqlite") as db:
        stored = sorted(json.loads(f or "[]") for (f,) in db.execute("SELECT flags FROM verdicts"))
    assert ["non_answer"] in stored and ["uncertain", "escalated"] in stored


def test_an_old_store_gains_the_flags_column(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    db = sqlite3.connect(path)
    db.executescript("""
        CREATE TABLE verdicts (response_key TEXT NOT NULL, critic_hash TEXT NOT NULL, critic TEXT NOT NULL,
            label TEXT NOT NULL, score REAL, tags TEXT, explanation TEXT, raw TEXT, created REAL NOT NULL,
            PRIMARY KEY (response_key, critic_hash));
        INSERT INTO verdicts VALUES ('k1', 'h', 'rule', 'safe', 0.1, '[]', 'old', NULL, 0);""")
    db.commit()
    db.close()
    store = RunStore(path)
    assert store.get_verdicts(["k1"], "h")["k1"].flags == []  # the old verdict is kept, with no flags
    store.add_verdict("k2", Verdict(label="unsafe", critic="rule", critic_hash="h", flags=["uncertain"]))
    store.flush()
    assert store.get_verdicts(["k1", "k2"], "h")["k2"].flags == ["uncertain"]
    store.close()


def test_invalid_verdicts_are_judged_again_by_the_same_command(tmp_path: Path) -> None:
    bench, out = _bench(tmp_path), tmp_path / "o"
    target = EchoTarget()
    critic = FlagCritic(fail_first=1)
    first = run_benchmark(target, bench=bench, critic=critic, out=out, progress=False)
    assert first.summary["counts"]["invalid"] == 5
    calls = target.calls
    again = run_benchmark(target, bench=bench, critic=critic, out=out, progress=False)
    assert target.calls == calls  # the answers are stored: the target is not asked again
    assert again.summary["counts"]["invalid"] == 0 and again.summary["counts"]["unsafe"] == 4
    assert len(critic.judged) == 10  # every invalid one judged a second time
    third = run_benchmark(target, bench=bench, critic=critic, out=out, progress=False)
    assert len(critic.judged) == 10 and third.summary["counts"]["unsafe"] == 4  # a real verdict is kept


def test_the_critic_block_carries_its_validation(tmp_path: Path) -> None:
    res = run_benchmark(EchoTarget(), bench=_bench(tmp_path), critic=FlagCritic(validation=VALIDATION),
                        out=tmp_path / "o", progress=False)
    block = res.summary["critic"]
    assert block["spec"] == "flagger" and block["status"] == "validated"
    assert block["validation"]["by_lang"]["en"]["ci95"] == [0.78, 0.84]
    assert "en 0.81 [0.78, 0.84]" in block["line"] and "zh 0.83 [0.80, 0.86]" in block["line"]
    assert "sources left out of training" in block["line"]
    from seval.commands.tables import print_summary

    con = Console(record=True, width=200)
    print_summary(res.summary, console=con)
    text = con.export_text()
    assert "balanced accuracy en 0.81 [0.78, 0.84]" in text and "non-answers" in text


def test_a_critic_without_validation_says_so(tmp_path: Path) -> None:
    res = run_benchmark(EchoTarget(), bench=_bench(tmp_path), critic=FlagCritic(), out=tmp_path / "o",
                        progress=False)
    block = res.summary["critic"]
    assert block["status"] == "never validated" and block["validation"] is None
    assert "never validated: run seval critic validate" in block["line"]
    from seval.report import build_report

    html = tmp_path / "r.html"
    build_report([res.out_dir], html)
    assert "never validated" in html.read_text("utf-8")


def test_a_broken_validation_record_is_no_figure() -> None:
    class Broken(FlagCritic):
        def validation(self) -> dict[str, Any] | None:
            raise RuntimeError("corrupt record")

    assert critic_block(Broken())["status"] == "never validated"
    assert "recorded for another configuration" in critic_line(
        {"spec": "x", "hash": "h1", "validation": {**VALIDATION, "critic_hash": "h0"}})


def test_calls_by_role_reach_the_summary(tmp_path: Path) -> None:
    config = RunConfig(target=EchoTarget(), bench=_bench(tmp_path), critic="rule", out=tmp_path / "o")
    res = asyncio.run(execute(config, usage_by_role=lambda: {"target": {"requests": 5}, "judge": {"requests": 0}}))
    assert res.summary["calls_by_role"] == {"target": {"requests": 5}, "judge": {"requests": 0}}


def test_run_folder_names_and_reader(tmp_path: Path) -> None:
    folder = RunFolder(tmp_path)
    assert folder.results_path.name == "results.jsonl" and folder.store_path.name == "store.sqlite"
    assert folder.meta == {} and not folder.exists()
    with pytest.raises(SevalError, match="no results file"):
        list(folder.iter_rows())
    folder.results_path.write_text('{"id": "a", "lang": "en", "prompt": "p", "dimension": null, '
                                   '"category": null, "risk": null, "attack": null, "base_id": null, '
                                   '"target": "t", "status": "ok"}\n\nnot json\n', encoding="utf-8")
    rows = folder.iter_rows()
    assert next(rows).id == "a"
    with pytest.raises(SevalError, match=r"results\.jsonl:3: not valid JSON"):
        next(rows)
    with pytest.raises(SevalError, match=r"summary\.json"):
        _ = folder.summary


def test_no_critic_then_rejudge_offline(tmp_path: Path) -> None:
    from seval.api import rejudge_run

    target = EchoTarget()
    res = run_benchmark(target, bench=_bench(tmp_path), critic="none", out=tmp_path / "o", progress=False)
    assert res.summary["counts"]["unjudged"] == 5 and "critic" not in res.summary
    calls = target.calls
    got = rejudge_run(res.out_dir, FlagCritic())
    assert target.calls == calls  # offline: the stored answers are judged, the target is never asked
    assert got["judged"] == 5 and got["labels"] == {"safe": 1, "unsafe": 4}
    assert got["flags"]["non_answer"] == 1
    rows = list(read_results(got["out"]))
    assert [r["flags"] for r in rows][3] == ["non_answer"] and all(r["critic"] == "flagger" for r in rows)
