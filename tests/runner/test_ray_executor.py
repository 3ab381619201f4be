"""The Ray executor (`--executor ray`) on a local 2-CPU Ray instance against the fault server: the same run
folder and verdicts as the in-process executor; a worker killed mid-run loses nothing; a driver killed
mid-run and started again sends only what has no stored result; budgets stop it like the in-process one.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from runner_helpers import read_results, target

from seval.api import rejudge_run, run_benchmark
from seval.errors import SevalError
from seval.runner.faultserver import SpawnedServer
from seval.runs.config import RunConfig

SEVAL = [sys.executable, "-c", "import sys; from seval.cli import main; sys.exit(main())"]


@pytest.fixture(scope="session")
def ray_local() -> Iterator[str]:
    """One local Ray instance (2 CPUs, no dashboard) for the session; yields its address."""
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'seval[ray]')")
    # a throw-away instance on 127.0.0.1: no auth token written to ~/.ray (the driver-kill test's CLI inherits it)
    saved = os.environ.get("RAY_AUTH_MODE")
    os.environ["RAY_AUTH_MODE"] = "disabled"
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()
        if saved is None:
            os.environ.pop("RAY_AUTH_MODE", None)
        else:
            os.environ["RAY_AUTH_MODE"] = saved


def verdicts(path: Path) -> list[dict[str, Any]]:
    """The rows without their latency: answers, verdicts, scores, explanations, flags, tokens."""
    rows = read_results(path)
    for r in rows:
        r.pop("latency_s")
    return rows


def stored(out: Path) -> tuple[int, int, int]:
    """(responses, distinct case ids, verdicts) in the run store, as a fresh process reads it."""
    if not (out / "store.sqlite").exists():
        return 0, 0, 0
    with sqlite3.connect(out / "store.sqlite") as db:
        try:
            n, distinct = db.execute("SELECT COUNT(*), COUNT(DISTINCT case_id) FROM responses").fetchone()
            (v,) = db.execute("SELECT COUNT(*) FROM verdicts").fetchone()
        except sqlite3.OperationalError:  # created, its tables not yet
            return 0, 0, 0
    return n, distinct, v


def ray_workers_of_this_process() -> list[int]:
    import psutil

    out = []
    for p in psutil.Process().children(recursive=True):
        try:
            if p.cmdline() and p.cmdline()[0].startswith("ray::Worker"):
                out.append(p.pid)
        except psutil.Error:
            continue
    return out


# ---- without Ray ------------------------------------------------------------------------------------------


def test_missing_ray_is_one_line_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from seval.runs.ray_executor import import_ray

    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(SevalError, match=r"pip install 'seval\[ray\]'"):
        import_ray()


def test_cli_without_ray_says_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from seval.cli import cli

    monkeypatch.setitem(sys.modules, "ray", None)
    res = CliRunner().invoke(cli, ["run", "--executor", "ray", "--target", "openai-compatible:http://127.0.0.1:9/v1#x",
                                   "--out", str(tmp_path / "run"), "--quiet"])
    assert isinstance(res.exception, SevalError) and "pip install 'seval[ray]'" in str(res.exception)
    assert not (tmp_path / "run").exists()  # nothing was started
    res = CliRunner().invoke(cli, ["critic", "judge", "--in", str(tmp_path / "x.jsonl"), "--executor", "ray"])
    assert isinstance(res.exception, SevalError) and "--run RUN_DIR" in str(res.exception)


def test_executor_option_checked() -> None:
    with pytest.raises(SevalError, match="unknown executor"):
        RunConfig(executor="spark").check()
    with pytest.raises(SevalError, match="need --executor ray"):
        RunConfig(ray_address="auto").check()


def test_pool_size_from_resources() -> None:
    from seval.runs.ray_executor import actor_options, pool_size

    class Gpu:
        ray_actor_options = {"num_gpus": 1}  # noqa: RUF012

    class Wrapped:
        inner = Gpu()

    assert actor_options(Wrapped()) == {"num_cpus": 1, "num_gpus": 1}
    assert actor_options(object()) == {"num_cpus": 1}
    assert pool_size({"CPU": 64, "GPU": 4}, {"num_cpus": 1, "num_gpus": 1}, 8, True) == 4
    assert pool_size({"CPU": 2}, {"num_cpus": 1}, 64, False) == 2
    assert pool_size({"CPU": 16}, {"num_cpus": 1}, 16, False) == 2  # at least 8 requests per HTTP worker
    assert pool_size({"CPU": 8}, {"num_cpus": 1, "num_gpus": 1}, 8, True) == 0


def test_ray_needs_a_model_string(tmp_path: Path) -> None:
    from seval.models.base import resolve_model
    from seval.runs.ray_worker import Recipe

    with pytest.raises(SevalError, match="model string"):
        Recipe.for_run(RunConfig(target=resolve_model("openai-compatible:http://127.0.0.1:9/v1#x")))


# ---- on a local Ray instance --------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("critic", ["rule", "embedded"])
def test_same_verdicts_as_in_process(ray_local: str, fault: SpawnedServer, make_bench: Any, tmp_path: Path,
                                     critic: str) -> None:
    bench = make_bench(150)
    fault.configure(latency=0.02, p429=0.05, retry_after=0.1, p500=0.03, seed=3)
    common = dict(target=target(fault), bench=str(bench), critic=critic, concurrency=16, progress=False)
    local = run_benchmark(out=str(tmp_path / "local"), **common)
    fault.reset()
    ray_run = run_benchmark(out=str(tmp_path / "ray"), executor="ray", ray_workers=2, **common)
    assert ray_run.complete
    assert verdicts(ray_run.results_path) == verdicts(local.results_path)
    assert ray_run.summary["counts"] == local.summary["counts"]
    info = json.loads((tmp_path / "ray" / "run.json").read_text("utf-8"))["executor"]
    assert info["workers"] == 2 and info["store_rows"] == 150 + ray_run.stats["judged"]
    assert ray_run.stats["requests"] == fault.stats()["requests"]  # the workers' usage reached the run's meter
    # a second run over the same folder sends nothing
    fault.reset()
    again = run_benchmark(out=str(tmp_path / "ray"), executor="ray", ray_workers=2, **common)
    assert fault.stats()["requests"] == 0 and again.stats["cached"] == 150
    assert verdicts(again.results_path) == verdicts(local.results_path)


@pytest.mark.slow
def test_rejudge_on_ray_same_as_in_process(ray_local: str, fault: SpawnedServer, make_bench: Any,
                                           tmp_path: Path) -> None:
    bench = make_bench(80)
    run_benchmark(target=target(fault), bench=str(bench), critic="rule", out=str(tmp_path / "run"),
                  concurrency=16, progress=False)
    local = rejudge_run(tmp_path / "run", "embedded", out=tmp_path / "local.jsonl")
    # re-judge a copy of the run, so the Ray re-judging finds no verdict of the embedded critic stored yet
    import shutil

    shutil.copytree(tmp_path / "run", tmp_path / "run2")
    with sqlite3.connect(tmp_path / "run2" / "store.sqlite") as db:
        db.execute("DELETE FROM verdicts WHERE critic != 'rule'")
    ray_res = rejudge_run(tmp_path / "run2", "embedded", out=tmp_path / "ray.jsonl", executor="ray", ray_workers=2)
    assert ray_res["judged"] == local["judged"] == 80
    assert verdicts(tmp_path / "ray.jsonl") == verdicts(tmp_path / "local.jsonl")
    assert fault.stats()["requests"] == 80  # re-judging never called the target


@pytest.mark.slow
def test_budget_stops_like_in_process(ray_local: str, fault: SpawnedServer, make_bench: Any,
                                      tmp_path: Path) -> None:
    bench = make_bench(120)
    common = dict(target=target(fault), bench=str(bench), critic="rule", concurrency=16, progress=False,
                  executor="ray", ray_workers=2, out=str(tmp_path / "run"))
    first = run_benchmark(max_requests=50, **common)
    assert not first.complete and first.exit_code == 3
    assert fault.stats()["requests"] == 50 and first.stats["requests"] == 50
    assert first.stats["states"]["not_run"] == 70
    assert stored(tmp_path / "run")[0] == 50
    rest = run_benchmark(**common)
    assert rest.complete and fault.stats()["requests"] == 120 and stored(tmp_path / "run")[:2] == (120, 120)


@pytest.mark.slow
def test_worker_killed_mid_run_loses_nothing(ray_local: str, fault: SpawnedServer, make_bench: Any,
                                             tmp_path: Path) -> None:
    n = 400
    bench = make_bench(n)
    fault.configure(latency=0.05)
    out = tmp_path / "run"
    box: dict[str, Any] = {}

    def go() -> None:
        try:
            box["result"] = run_benchmark(target=target(fault), bench=str(bench), critic="rule", out=str(out),
                                          concurrency=8, progress=False, executor="ray", ray_workers=2,
                                          ray_batch=16)
        except BaseException as exc:
            box["error"] = exc

    t = threading.Thread(target=go)
    t.start()
    killed = None
    deadline = time.time() + 120
    while t.is_alive() and time.time() < deadline:
        if stored(out)[0] >= 60:
            pids = ray_workers_of_this_process()
            if pids:
                killed = pids[0]
                os.kill(killed, signal.SIGKILL)
                break
        time.sleep(0.05)
    t.join(180)
    assert killed is not None, "no worker was killed (the run ended first?)"
    assert "error" not in box, box.get("error")
    result = box["result"]
    assert result.complete
    assert stored(out) == (n, n, n)  # every case stored once, with its verdict
    assert len(read_results(result.results_path)) == n
    assert result.stats["states"] == {"ok": n}
    info = json.loads((out / "run.json").read_text("utf-8"))["executor"]
    assert info["worker_incarnations"] >= 3  # the killed worker was restarted


@pytest.mark.slow
def test_driver_killed_rerun_sends_only_the_rest(ray_local: str, fault: SpawnedServer, make_bench: Any,
                                                 tmp_path: Path) -> None:
    n, workers, batch = 600, 2, 8
    bench = make_bench(n)
    fault.configure(latency=0.1)
    out = tmp_path / "run"
    cmd = [*SEVAL, "run", "--target", target(fault), "--bench", str(bench), "--critic", "rule", "--out", str(out),
           "--concurrency", "8", "--quiet", "--json", "--executor", "ray", "--ray-address", ray_local,
           "--ray-workers", str(workers), "--ray-batch", str(batch)]
    env = dict(os.environ)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.time() + 120
    try:
        while stored(out)[0] < 100:
            assert proc.poll() is None, "the run ended before it could be killed"
            assert time.time() < deadline
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
    # the driver's workers die with it (Ray ends a dead driver's actors): wait until the server is quiet
    last, quiet_since = -1, time.time()
    while time.time() - quiet_since < 2.0:
        now = fault.stats()["requests"]
        if now != last:
            last, quiet_since = now, time.time()
        time.sleep(0.1)
    sent_before, have = last, stored(out)[0]
    in_flight_bound = workers * 3 * batch  # batches out at once per worker x cases per batch
    assert 0 <= sent_before - have <= in_flight_bound
    again = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    total = fault.stats()["requests"]
    assert total - sent_before == n - have  # the re-run sent exactly what had no stored result
    assert total <= n + in_flight_bound
    assert stored(out) == (n, n, n)
