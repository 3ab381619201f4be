"""End to end through seval.api / `seval run` against the fault server: one state per item, --retry-errors,
--max-requests / --max-cost stop and resume, the circuit breaker, adaptive limits, tokens and cost."""

from __future__ import annotations

import sqlite3
import threading
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from runner_helpers import read_results, target

from seval.api import run_benchmark
from seval.cli import cli
from seval.errors import SevalError
from seval.runner.faultserver import SpawnedServer


def store_keys(out: Path) -> list[str]:
    with sqlite3.connect(out / "store.sqlite") as db:
        return [r[0] for r in db.execute("SELECT key FROM responses")]


def test_every_item_ends_in_exactly_one_state(fault: SpawnedServer, make_bench, tmp_path: Path) -> None:
    fault.configure(p429=0.1, retry_after=0.05, p500=0.1, p_filter=0.1, p_malformed=0.05, seed=1)
    res = run_benchmark(target(fault), bench=str(make_bench(150)), critic="rule", out=tmp_path / "o",
                        concurrency=16, progress=False, max_retries=1)
    rows = read_results(res.results_path)
    assert len(rows) == 150 and len({r["id"] for r in rows}) == 150
    by_state = Counter(r["status"] for r in rows)
    assert set(by_state) == {"ok", "content_filter", "error"}  # these rates make all three likely (seeded)
    for r in rows:
        if r["status"] == "ok":
            assert r["verdict"] in ("safe", "unsafe") and r["error_kind"] is None
        else:
            assert r["verdict"] is None and r["error_kind"]
            if r["status"] == "error":
                assert r["error_kind"] in ("rate_limited", "server_error", "malformed_response")
    stats = res.summary["run"]["stats"]
    assert stats["states"] == dict(by_state) and sum(stats["states"].values()) == 150
    assert res.complete and stats["complete"]
    assert stats["requests"] == fault.stats()["requests"] > 150  # retries were made
    assert len(store_keys(res.out_dir)) == 150


def test_retry_errors_redoes_only_the_failed_items_via_the_cli(fault: SpawnedServer, make_bench,
                                                                tmp_path: Path) -> None:
    fault.configure(p500=0.3, p_filter=0.1, seed=2)
    bench, out = make_bench(80), tmp_path / "o"
    args = ["run", "--target", target(fault), "--bench", str(bench), "--critic", "rule", "--out", str(out),
            "--concurrency", "8", "--max-retries", "0", "--quiet", "--json"]
    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 0, first.output
    rows1 = {r["id"]: r for r in read_results(out / "results.jsonl")}
    failed = [i for i, r in rows1.items() if r["status"] == "error"]
    filtered = [i for i, r in rows1.items() if r["status"] == "content_filter"]
    assert failed and filtered
    fault.configure(p500=0.0, p_filter=0.0)
    fault.reset()
    again = CliRunner().invoke(cli, args)  # without --retry-errors: nothing is redone
    assert again.exit_code == 0 and fault.stats()["requests"] == 0
    second = CliRunner().invoke(cli, [*args, "--retry-errors"])
    assert second.exit_code == 0, second.output
    assert fault.stats()["requests"] == len(failed)  # only the errors, not the content-filter refusals
    rows2 = {r["id"]: r for r in read_results(out / "results.jsonl")}
    assert all(rows2[i]["status"] == "ok" for i in failed)
    assert all(rows2[i]["status"] == "content_filter" for i in filtered)
    assert all(rows2[i] == rows1[i] for i in rows1 if i not in failed)
    assert len(store_keys(out)) == 80


def test_max_requests_stops_cleanly_and_the_same_command_resumes(fault: SpawnedServer, make_bench,
                                                                  tmp_path: Path) -> None:
    bench, out = make_bench(60), tmp_path / "o"
    args = ["run", "--target", target(fault), "--bench", str(bench), "--critic", "rule", "--out", str(out),
            "--concurrency", "4", "--quiet", "--max-requests", "25"]
    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 3, first.output
    assert "--max-requests 25" in first.output and "To continue, re-run the same command" in first.output
    assert "35 not run yet" in first.output
    assert fault.stats()["requests"] == 25 and len(store_keys(out)) == 25
    rows = read_results(out / "results.jsonl")
    assert sum(r["error_kind"] == "not_run" for r in rows) == 35
    second = CliRunner().invoke(cli, args)
    assert second.exit_code == 3 and fault.stats()["requests"] == 50
    third = CliRunner().invoke(cli, args)
    assert third.exit_code == 0, third.output
    assert fault.stats()["requests"] == 60 and len(store_keys(out)) == 60
    assert all(r["status"] == "ok" for r in read_results(out / "results.jsonl"))


def test_max_cost_stops_and_cost_and_tokens_are_in_the_summary(fault: SpawnedServer, make_bench,
                                                               tmp_path: Path) -> None:
    bench, out = make_bench(100), tmp_path / "o"
    kw = dict(bench=str(bench), critic="rule", out=out, concurrency=4, progress=False, price_in=100.0,
              price_out=200.0)
    res = run_benchmark(target(fault), max_cost=0.05, **kw)
    stats = res.summary["run"]["stats"]
    assert not res.complete and res.exit_code == 3 and "--max-cost" in (res.message or "")
    assert 0.04 <= stats["cost_usd"] <= 0.06, stats["cost_usd"]
    expect = (stats["prompt_tokens"] * 100 + stats["completion_tokens"] * 200) / 1e6
    assert stats["cost_usd"] == pytest.approx(expect, rel=1e-6)
    assert stats["models"]["fault"]["requests"] == stats["requests"] < 100
    done = stats["requests"]
    res2 = run_benchmark(target(fault), **kw)
    assert res2.complete and fault.stats()["requests"] == 100 and res2.stats["requests"] == 100 - done
    assert res2.summary["run"]["stats"]["tokens"] > 0
    with pytest.raises(SevalError, match="--max-cost needs a price"):
        run_benchmark(target(fault), bench=str(bench), critic="rule", out=tmp_path / "o2", progress=False,
                      max_cost=1.0)


def test_breaker_pauses_while_the_endpoint_is_down_then_finishes(fault: SpawnedServer, make_bench,
                                                                 tmp_path: Path) -> None:
    fault.configure(latency=0.01)
    bench, out = make_bench(120), tmp_path / "o"
    events: list[str] = []
    import seval.api as api

    orig = api._stderr_event
    api._stderr_event = events.append  # type: ignore[assignment]
    timer = threading.Timer(0.3, lambda: fault.configure(down=True))
    back = threading.Timer(1.6, lambda: fault.configure(down=False))
    timer.start()
    back.start()
    try:
        res = run_benchmark(target(fault), bench=str(bench), critic="rule", out=out, concurrency=4,
                            progress=False)
    finally:
        api._stderr_event = orig
        timer.cancel()
        back.cancel()
    stats = res.summary["run"]["stats"]
    assert res.complete and stats["states"] == {"ok": 120}, stats
    assert stats["breaker_openings"] >= 1
    assert any("endpoint down" in e for e in events) and any("is back" in e for e in events)


def test_endpoint_down_past_max_wait_stops_resumably(fault: SpawnedServer, make_bench, tmp_path: Path) -> None:
    bench, out = make_bench(40), tmp_path / "o"
    fault.configure(down=True)
    res = run_benchmark(target(fault), bench=str(bench), critic="rule", out=out, concurrency=4,
                        progress=False, max_wait=0.5)
    assert not res.complete and res.exit_code == 4 and "endpoint" in (res.message or "")
    assert res.summary["run"]["stats"]["states"].get("not_run") == 40
    assert store_keys(out) == []  # nothing recorded as failed
    fault.configure(down=False)
    fault.reset()
    res2 = run_benchmark(target(fault), bench=str(bench), critic="rule", out=out, concurrency=4,
                         progress=False)
    assert res2.complete and fault.stats()["requests"] == 40 and len(store_keys(out)) == 40


def test_sustained_429s_shrink_concurrency_and_nothing_is_lost(fault: SpawnedServer, make_bench,
                                                               tmp_path: Path) -> None:
    fault.configure(p429=0.6, retry_after=0.05, latency=0.01, seed=4)
    res = run_benchmark(target(fault), bench=str(make_bench(120)), critic="rule", out=tmp_path / "o",
                        concurrency=32, progress=False, max_retries=30)
    stats = res.summary["run"]["stats"]
    assert stats["states"] == {"ok": 120}
    assert stats["limit_cuts"] >= 1 and stats["min_limit"] < 32


def test_hangs_time_out_and_are_retried(fault: SpawnedServer, make_bench, tmp_path: Path) -> None:
    fault.configure(p_hang=0.1, seed=5)
    res = run_benchmark(target(fault), bench=str(make_bench(60)), critic="rule", out=tmp_path / "o",
                        concurrency=16, progress=False, timeout=0.3)
    stats = res.summary["run"]["stats"]
    assert stats["states"] == {"ok": 60} and stats["retries"] >= 1


def test_llm_critic_calls_go_through_the_same_guard_and_meter(fault: SpawnedServer, make_bench,
                                                              tmp_path: Path) -> None:
    fault.configure(p500=0.05, seed=6)
    judge = f"llm:openai-compatible:{fault.url}#judge-model"
    res = run_benchmark(target(fault), bench=str(make_bench(20)), critic=judge, out=tmp_path / "o",
                        concurrency=4, progress=False, price_in=1.0, price_out=1.0)
    models = res.summary["run"]["stats"]["models"]
    assert set(models) == {"fault", "judge-model"}
    assert models["judge-model"]["requests"] >= 20 and models["judge-model"]["prompt_tokens"] > 0
    assert models["judge-model"]["cost_usd"] is None  # --price-in/out price the target only
    assert res.summary["run"]["stats"]["requests"] == fault.stats()["requests"]
    # the canned answers are not judge JSON: every verdict is invalid, never safe
    assert {r["verdict"] for r in read_results(res.results_path)} == {"invalid"}


def test_ensemble_judge_calls_count_toward_max_requests(fault: SpawnedServer, make_bench, tmp_path: Path) -> None:
    judge = f"ensemble:majority:rule,llm:openai-compatible:{fault.url}#judge-model"
    res = run_benchmark(target(fault), bench=str(make_bench(20)), critic=judge, out=tmp_path / "o",
                        concurrency=4, progress=False, max_requests=30)
    assert fault.stats()["requests"] <= 30  # was 80: the ensemble's judge was not metered
    assert not res.complete and res.exit_code == 3
    roles = res.summary["run"]["stats"]["roles"]
    assert roles["target"]["requests"] + roles["judge"]["requests"] == fault.stats()["requests"]


def test_an_always_failing_judge_makes_at_most_max_retries_plus_one_calls(make_bench, tmp_path: Path) -> None:
    with SpawnedServer() as tgt, SpawnedServer(p500=1.0) as bad:
        res = run_benchmark(target(tgt), bench=str(make_bench(20)), critic=f"llm:openai-compatible:{bad.url}#j",
                            out=tmp_path / "o", concurrency=4, progress=False, max_retries=2, max_wait=1.0)
        assert bad.stats()["requests"] <= 60
    assert res.exit_code in (0, 4)  # 4: the judge's endpoint stayed down (its breaker) past --max-wait


def test_timeout_is_rejected_for_in_process_models(make_bench, tmp_path: Path) -> None:
    with pytest.raises(SevalError, match="--timeout does not apply"):
        run_benchmark("local:smollm2", bench=str(make_bench(2)), critic="rule", out=tmp_path / "o",
                      progress=False, timeout=5.0)
