"""Shared fixtures: the dev data folder, a real OpenAI-compatible server serving the embedded model, and the
fault-injection server (seval.runner.faultserver) in its own process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from seval.runner.faultserver import FaultConfig, SpawnedServer

FAULT_DEFAULTS = {k: v for k, v in FaultConfig().__dict__.items() if k != "seed"}

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def _spawned_fault() -> Iterator[SpawnedServer]:
    with SpawnedServer() as srv:
        yield srv


@pytest.fixture
def fault(_spawned_fault: SpawnedServer) -> SpawnedServer:
    """The module's fault server, reset to no faults, no latency and zero counters for each test."""
    _spawned_fault.configure(**FAULT_DEFAULTS, seed=0)
    _spawned_fault.reset()
    return _spawned_fault


#: the ways the fault server can answer every chat request wrongly (`hostile(name)` sets one at rate 1)
HOSTILE = {"no_message": {"p_no_message": 1.0}, "null_content": {"p_null_content": 1.0},
           "int_content": {"p_int_content": 1.0}, "parts_content": {"p_parts_content": 1.0},
           "html": {"p_html": 1.0}, "400": {"p_400": 1.0}, "malformed": {"p_malformed": 1.0}}


@pytest.fixture
def hostile(fault: SpawnedServer) -> Callable[[str], SpawnedServer]:
    """`hostile("no_message")`: the reset fault server, answering every chat request in that one way."""

    def set_mode(name: str) -> SpawnedServer:
        fault.configure(**HOSTILE[name])
        return fault

    return set_mode


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """`tmpfs("size=1m")` / `tmpfs("ro,size=64k")`: a fresh tmpfs mounted under tmp_path (root on Linux only;
    skips with the reason elsewhere), unmounted after the test."""
    mounted: list[Path] = []

    def mount(options: str) -> Path:
        d = tmp_path / f"tmpfs{len(mounted)}"
        d.mkdir()
        got = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(d)], capture_output=True)
        if got.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({got.stderr.decode(errors='replace').strip()}): "
                        "this test needs root on Linux")
        mounted.append(d)
        return d

    yield mount
    for d in mounted:
        subprocess.run(["umount", "-l", str(d)], check=False)


def _shared_data_dir() -> Path | None:
    env = os.environ.get("SEVAL_SHARED_DATA")
    for cand in [Path(env)] if env else [REPO.parent / "shared" / "data", REPO / "../shared/data"]:
        if cand.is_dir() and any(cand.glob("*.jsonl")):
            return cand.resolve()
    return None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data (or $SEVAL_SHARED_DATA); tests that need it skip when it is absent."""
    d = _shared_data_dir()
    if d is None:
        pytest.skip("labelled dev data not found (../shared/data or $SEVAL_SHARED_DATA)")
    return d


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def llama_server() -> Iterator[str]:
    """Start llama-cpp-python's OpenAI-compatible server with SmolLM2 on 127.0.0.1; yields its base URL."""
    pytest.importorskip("llama_cpp.server", reason="llama-cpp-python[server] not installed")
    from seval.errors import SevalError
    from seval.models.local import smollm2_path

    try:
        gguf = smollm2_path()
    except SevalError as exc:
        pytest.skip(str(exc))
    port = free_port()
    log = open(REPO / ".pytest_cache" / f"llama_server_{port}.log", "w") if (REPO / ".pytest_cache").is_dir() \
        else subprocess.DEVNULL  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1", "--port", str(port),
         "--model_alias", "smollm2", "--n_ctx", "2048", "--n_threads", "2", "--logits_all", "true"],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE"})
    base = f"http://127.0.0.1:{port}/v1"
    deadline = time.time() + 90
    try:
        while time.time() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"llama_cpp.server exited with {proc.returncode}")
            try:
                if httpx.get(base + "/models", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        else:
            pytest.fail("llama_cpp.server did not start within 90 s")
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def fake_vllm(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """`import vllm` gives the stand-in in tests/fixtures/fake_vllm (vLLM's interface, no GPU); engines reset."""
    import importlib

    from seval.models import vllm_engine

    monkeypatch.syspath_prepend(str(REPO / "tests" / "fixtures" / "fake_vllm"))
    monkeypatch.delitem(sys.modules, "vllm", raising=False)
    monkeypatch.setattr(vllm_engine, "_ENGINES", {})
    mod = importlib.import_module("vllm")
    yield mod
    sys.modules.pop("vllm", None)
