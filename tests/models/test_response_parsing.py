"""parse_chat_response: a body without text is `malformed_response`, never an ok (and so never a safe) answer."""

from __future__ import annotations

import json
from typing import Any

import pytest

from seval.models.openai_compat import parse_chat_response
from seval.records import ErrorKind, ModelCallError


def body(choice: dict[str, Any]) -> bytes:
    return json.dumps({"choices": [choice], "model": "m"}).encode()


@pytest.mark.parametrize("choice", [
    {"finish_reason": "stop"},  # no message
    {"message": None, "finish_reason": "stop"},
    {"message": {"role": "assistant"}, "finish_reason": "stop"},  # no content
    {"message": {"role": "assistant", "content": None}, "finish_reason": "stop"},
    {"message": {"role": "assistant", "content": 42}, "finish_reason": "stop"},
    {"message": {"role": "assistant", "content": {"text": "hi"}}, "finish_reason": "stop"},
    {"message": {"role": "assistant", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}},
    {"message": {"role": "assistant", "content": [1, 2]}},
    {"message": "just a string"},
])
def test_a_choice_without_text_is_malformed(choice: dict[str, Any]) -> None:
    with pytest.raises(ModelCallError) as err:
        parse_chat_response(body(choice), 0.1, "m")
    assert err.value.kind == ErrorKind.MALFORMED
    assert "text" in err.value.message


def test_content_parts_are_joined() -> None:
    parts = [{"type": "text", "text": "I can't "}, {"type": "text", "text": "help with that."}]
    c = parse_chat_response(body({"message": {"content": parts}, "finish_reason": "stop"}), 0.1, "m")
    assert c.text == "I can't help with that."


def test_a_plain_string_content_and_a_provider_refusal_are_unchanged() -> None:
    assert parse_chat_response(body({"message": {"content": "ok"}}), 0.1, "m").text == "ok"
    with pytest.raises(ModelCallError) as err:
        parse_chat_response(body({"message": {"content": None, "refusal": "no"}}), 0.1, "m")
    assert err.value.kind == ErrorKind.CONTENT_FILTER
