"""Fixtures for the generation tests: a scripted generator backend and a real local llama.cpp server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from seval.models.base import ModelBackend
from seval.records import Completion, GenParams, Message, ModelCallError

Script = Callable[[list[Message], GenParams, int], str | ModelCallError]


class ScriptedBackend(ModelBackend):
    """A generator test double: `script(messages, params, call_no)` returns the answer text or an error."""

    default_concurrency = 4

    def __init__(self, script: Script, spec: str = "scripted:test") -> None:
        super().__init__(spec)
        self.script = script
        self.calls: list[list[Message]] = []

    async def _generate(self, messages: list[Message], params: GenParams) -> Completion:
        self.calls.append(messages)
        out = self.script(messages, params, len(self.calls))
        if isinstance(out, ModelCallError):
            raise out
        return Completion(text=out, model="scripted")


@pytest.fixture
def scripted() -> Callable[[Script], ScriptedBackend]:
    return lambda script: ScriptedBackend(script)


@pytest.fixture
def scripted_scheme() -> Callable[[Script], None]:
    """Makes the model string `scripted:<anything>` resolve to a ScriptedBackend running `script`."""
    from seval.models.base import MODELS

    if "scripted" not in MODELS.names():
        MODELS.register("scripted")(_Dispatch.factory)

    def use(script: Script) -> None:
        _Dispatch.script = script

    return use


class _Dispatch:
    """The registered `scripted` factory (registered once per session) runs the latest test's script."""

    script: Script | None = None

    @staticmethod
    def factory(spec: str, rest: str, **options: object) -> ScriptedBackend:
        assert _Dispatch.script is not None
        return ScriptedBackend(_Dispatch.script, spec)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def smollm2_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `python -m llama_cpp.server` serving the embedded SmolLM2; yields its base URL (…/v1)."""
    pytest.importorskip("llama_cpp.server", reason="llama-cpp-python[server] is not installed")
    from seval.errors import SevalError
    from seval.models.local import smollm2_path

    try:
        gguf = smollm2_path()
    except SevalError as exc:
        pytest.skip(str(exc))
    port = _free_port()
    log = Path(tmp_path_factory.mktemp("llama_server")) / "server.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host",
                                 "127.0.0.1", "--port", str(port), "--n_ctx", "2048"],
                                stdout=fh, stderr=subprocess.STDOUT, env={**os.environ, "OMP_NUM_THREADS": "2"})
    base = f"http://127.0.0.1:{port}/v1"
    try:
        import httpx

        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"llama.cpp server exited ({proc.returncode}): {log.read_text()[-500:]}")
            try:
                if httpx.get(base + "/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("llama.cpp server did not start within 60 s")
            time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
