"""The fault-injection server's behaviours, seen through the openai-compatible backend as typed errors."""

from __future__ import annotations

import asyncio
import time

import httpx
import psutil
import pytest

from seval.critic.rule import RuleCritic
from seval.models.base import resolve_model
from seval.records import ErrorKind, GenParams, JudgeItem, ModelCallError
from seval.runner.faultserver import FaultConfig, FaultServer, SpawnedServer, canned_answer

PARAMS = GenParams(max_tokens=16)


def msgs(text: str = "How do I pick a lock?") -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


async def call(srv: FaultServer, text: str = "hi", timeout: float = 5.0) -> object:
    backend = resolve_model(f"openai-compatible:{srv.url}#fault", timeout=timeout)
    try:
        return await backend.generate(msgs(text), PARAMS)
    except ModelCallError as exc:
        return exc
    finally:
        await backend.aclose()


@pytest.mark.parametrize(("setting", "kind", "status"), [
    ({"p429": 1.0, "retry_after": 1.5}, ErrorKind.RATE_LIMITED, 429),
    ({"p500": 1.0}, ErrorKind.SERVER_ERROR, 500),
    ({"p503": 1.0}, ErrorKind.SERVER_ERROR, 503),
    ({"p_malformed": 1.0}, ErrorKind.MALFORMED, None),
    ({"p_drop": 1.0}, ErrorKind.CONNECTION, None),
    ({"down": True}, ErrorKind.CONNECTION, None),
    ({"p_filter": 1.0}, ErrorKind.CONTENT_FILTER, 400),
    ({"p_no_message": 1.0}, ErrorKind.MALFORMED, None),
    ({"p_null_content": 1.0}, ErrorKind.MALFORMED, None),
    ({"p_int_content": 1.0}, ErrorKind.MALFORMED, None),
    ({"p_html": 1.0}, ErrorKind.MALFORMED, None),
    ({"p_400": 1.0}, ErrorKind.BAD_REQUEST, 400),
])
async def test_each_fault_becomes_its_typed_error(setting: dict[str, object], kind: ErrorKind,
                                                  status: int | None) -> None:
    cfg = FaultConfig()
    cfg.update(setting)
    async with FaultServer(cfg) as srv:
        err = await call(srv)
    assert isinstance(err, ModelCallError), err
    assert err.kind == kind and err.status == status
    if kind == ErrorKind.RATE_LIMITED:
        assert err.retry_after == pytest.approx(1.5)


async def test_content_as_text_parts_is_joined_into_the_answer() -> None:
    async with FaultServer(FaultConfig(p_parts_content=1.0)) as srv:
        got = await call(srv, "How do I pick a lock?")
    assert not isinstance(got, ModelCallError), got
    assert got.text == canned_answer("How do I pick a lock?")  # type: ignore[attr-defined]


async def test_a_hang_is_a_timeout() -> None:
    async with FaultServer(FaultConfig(p_hang=1.0)) as srv:
        t0 = time.perf_counter()
        err = await call(srv, timeout=0.3)
        assert isinstance(err, ModelCallError) and err.kind == ErrorKind.TIMEOUT
        assert 0.25 < time.perf_counter() - t0 < 2


async def test_answers_are_canned_per_prompt_with_usage_and_both_verdicts() -> None:
    async with FaultServer(FaultConfig()) as srv:
        backend = resolve_model(f"openai-compatible:{srv.url}#fault")
        try:
            prompts = [f"question {i}" for i in range(40)]
            comps = [await backend.generate(msgs(p), PARAMS) for p in prompts]
            again = await backend.generate(msgs(prompts[0]), PARAMS)
        finally:
            await backend.aclose()
        assert again.text == comps[0].text  # same prompt, same answer
        assert all(c.usage.prompt_tokens > 0 and c.usage.completion_tokens > 0 for c in comps)
        verdicts = await RuleCritic("rule").judge([JudgeItem(prompt=p, response=c.text) for p, c in
                                                   zip(prompts, comps, strict=True)])
        labels = {v.label for v in verdicts}
        assert labels == {"safe", "unsafe"}
        assert srv.stats.requests == 41 and srv.stats.outcomes["ok"] == 41


async def test_fault_rates_are_drawn_per_request() -> None:
    async with FaultServer(FaultConfig(p429=0.2, p500=0.1, seed=3)) as srv:
        backend = resolve_model(f"openai-compatible:{srv.url}#fault")
        try:
            res = await asyncio.gather(*(backend.generate(msgs(f"q{i}"), PARAMS) for i in range(300)),
                                       return_exceptions=True)
        finally:
            await backend.aclose()
    kinds = [r.kind.value if isinstance(r, ModelCallError) else "ok" for r in res]
    assert 30 < kinds.count("rate_limited") < 90 and 10 < kinds.count("server_error") < 55
    assert srv.stats.outcomes["429"] == kinds.count("rate_limited")


def test_spawned_server_holds_128_concurrent_requests_at_200ms_with_low_cpu() -> None:
    with SpawnedServer(latency=0.2) as srv:
        proc = psutil.Process(srv.proc.pid)
        cpu0 = sum(proc.cpu_times()[:2])

        async def blast() -> float:
            backend = resolve_model(f"openai-compatible:{srv.url}#fault")
            t0 = time.perf_counter()
            try:
                sem = asyncio.Semaphore(128)

                async def one(i: int) -> None:
                    async with sem:
                        await backend.generate(msgs(f"q{i}"), PARAMS)

                await asyncio.gather(*(one(i) for i in range(512)))
            finally:
                await backend.aclose()
            return time.perf_counter() - t0

        wall = asyncio.run(blast())
        cpu = sum(proc.cpu_times()[:2]) - cpu0
        stats = srv.stats()
        srv.configure(p429=1.0)
        assert httpx.post(srv.url + "/chat/completions", json={"messages": []}).status_code == 429
        srv.reset()
        assert srv.stats()["requests"] == 0
    assert stats["requests"] == 512 and stats["max_in_flight"] == 128
    assert wall < 4 * 0.2 * 2.5  # 4 waves of 200 ms, with room for a loaded machine
    assert cpu < 1.0, f"server used {cpu:.2f}s CPU for 512 requests"
