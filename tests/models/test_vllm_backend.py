"""The vllm: backend against a stand-in with vLLM's interface (no GPU): one engine per process, a whole batch in
one `LLM.chat` call, sampling parameters mapped, one-line errors without vLLM or without the model."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest

from seval.errors import SevalError
from seval.models.base import resolve_model
from seval.models.vllm_engine import VLLMModel
from seval.records import Completion, ErrorKind, GenParams, ModelCallError
from seval.runs.ray_executor import actor_options


def test_without_vllm_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "vllm", None)  # `import vllm` fails, as where it is not installed
    with pytest.raises(SevalError, match=r"pip install 'seval\[vllm\]'") as info:
        resolve_model(f"vllm:{tmp_path}")
    assert "\n" not in str(info.value)


def test_missing_model_and_bad_options(fake_vllm: Any) -> None:
    with pytest.raises(SevalError, match=r"not found.*nothing is downloaded"):
        resolve_model("vllm:/no/such/model")
    with pytest.raises(SevalError, match="unknown option 'colour'"):
        resolve_model("vllm:/tmp?colour=red")
    with pytest.raises(SevalError, match="--timeout does not apply"):
        resolve_model("vllm:/tmp", timeout=3.0)


def test_one_engine_per_process_and_one_call_per_batch(fake_vllm: Any, tmp_path: Path) -> None:
    a = resolve_model(f"vllm:{tmp_path}?max_model_len=512&batch_size=64")
    b = resolve_model(f"vllm:{tmp_path}", max_model_len=512, batch_size=64)
    assert isinstance(a, VLLMModel) and a.max_batch == 64 and a.args == b.args
    assert actor_options(a) == {"num_cpus": 1, "num_gpus": 1}  # a Ray worker asks for one GPU
    msgs = [[{"role": "system", "content": "Be brief."}, {"role": "user", "content": f"Question {i}?"}]
            for i in range(20)]

    async def go() -> tuple[list[Completion | ModelCallError], list[Completion | ModelCallError], Completion]:
        x = await a.generate_many(msgs, GenParams(max_tokens=3))
        y = await b.generate_many(msgs[:5], GenParams(max_tokens=50, stop=["Question"]))
        z = await a.generate([{"role": "user", "content": "Hi"}], GenParams(logprobs=True))
        return x, y, z

    x, y, z = asyncio.run(go())
    assert len(fake_vllm.ENGINES) == 1 and fake_vllm.ENGINES[0].batches == [20, 5, 1]
    assert all(isinstance(c, Completion) for c in x + y)
    first = x[0]
    assert isinstance(first, Completion) and first.finish_reason == "length" and first.usage.completion_tokens == 3
    assert first.usage.prompt_tokens > 10 and first.text.startswith("[fake answer")
    assert all(isinstance(c, Completion) and "Question" not in c.text and c.finish_reason == "stop" for c in y)
    assert z.first_token_logprobs == {"[fake": -0.25}


def test_a_too_long_prompt_fails_alone(fake_vllm: Any, tmp_path: Path) -> None:
    m = resolve_model(f"vllm:{tmp_path}", max_model_len=60)
    msgs = [[{"role": "user", "content": "short"}], [{"role": "user", "content": "x" * 200}]]
    ok, bad = asyncio.run(m.generate_many(msgs, GenParams(max_tokens=4)))
    assert isinstance(ok, Completion) and isinstance(bad, ModelCallError) and bad.kind == ErrorKind.BAD_REQUEST
