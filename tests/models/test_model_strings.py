"""Model strings pick a backend; bad strings fail with the valid forms; HTTP failures become typed errors."""

from __future__ import annotations

import json

import pytest

from seval.errors import SevalError
from seval.models.base import build_messages, resolve_model
from seval.models.openai_compat import OpenAICompatible, classify_http_error, parse_chat_response
from seval.records import ErrorKind, GenParams, ModelCallError


def test_openai_compatible_string() -> None:
    m = resolve_model("openai-compatible:http://127.0.0.1:8000/v1#qwen2.5-7b")
    assert isinstance(m, OpenAICompatible)
    assert m.base_url == "http://127.0.0.1:8000/v1" and m.model == "qwen2.5-7b"


def test_key_never_in_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-123")
    m = resolve_model("openai:gpt-4o-mini")
    assert "sk-secret-123" not in json.dumps(m.config())


@pytest.mark.parametrize("spec,msg", [
    ("smollm2", "bad model spec"),
    ("nosuch:thing", "unknown model backend 'nosuch'"),
    ("openai-compatible:http://x/v1", "expected openai-compatible:<base url>#<model name>"),
    ("openai-compatible:ftp://x#m", "must start with http"),
    ("llama-cpp:/does/not/exist.gguf", "GGUF file not found"),
    ("local:giant", "unknown embedded model 'giant'"),
])
def test_bad_strings(spec: str, msg: str) -> None:
    with pytest.raises(SevalError, match=msg):
        resolve_model(spec)


def test_http_errors_are_typed() -> None:
    e = classify_http_error(429, "slow down", {"retry-after": "2"})
    assert e.kind is ErrorKind.RATE_LIMITED and e.retry_after == 2.0
    assert classify_http_error(503, "down").kind is ErrorKind.SERVER_ERROR
    assert classify_http_error(400, '{"error": {"code": "content_filter"}}').kind is ErrorKind.CONTENT_FILTER
    assert classify_http_error(400, "bad").kind is ErrorKind.BAD_REQUEST
    assert classify_http_error(401, "no key").kind is ErrorKind.AUTH


def test_parse_chat_response() -> None:
    body = {"model": "m", "choices": [{"message": {"content": "hi"}, "finish_reason": "stop",
            "logprobs": {"content": [{"token": "safe", "logprob": -0.2,
                                      "top_logprobs": [{"token": "safe", "logprob": -0.2},
                                                       {"token": "unsafe", "logprob": -1.7}]}]}}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 1}}
    c = parse_chat_response(json.dumps(body).encode(), 0.1, "m")
    assert c.text == "hi" and c.usage.completion_tokens == 1 and c.first_token_logprobs == {"safe": -0.2, "unsafe": -1.7}
    with pytest.raises(ModelCallError) as ei:
        parse_chat_response(b"<html>oops", 0.1, "m")
    assert ei.value.kind is ErrorKind.MALFORMED
    filtered = {"choices": [{"message": {"content": None}, "finish_reason": "content_filter"}]}
    with pytest.raises(ModelCallError) as ei:
        parse_chat_response(json.dumps(filtered).encode(), 0.1, "m")
    assert ei.value.kind is ErrorKind.CONTENT_FILTER


def test_build_messages() -> None:
    msgs = build_messages("q", GenParams(system_prompt="be safe"), [{"role": "user", "content": "a"},
                                                                   {"role": "assistant", "content": "b"}])
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "user"] and msgs[-1]["content"] == "q"


def test_backend_survives_two_event_loops(llama_server: str) -> None:
    """A judge or target reused across asyncio.run calls (judge_sync twice) must reconnect, not crash."""
    import asyncio

    m = resolve_model(f"openai-compatible:{llama_server}#smollm2")
    msgs = [{"role": "user", "content": "Say hi."}]
    for _ in range(2):
        c = asyncio.run(m.generate(msgs, GenParams(max_tokens=4)))
        assert isinstance(c.text, str)
