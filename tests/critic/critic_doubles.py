"""Test doubles for critic tests: scripted judge backends that record what they were sent."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from typing import Any

from seval.models.base import ModelBackend
from seval.records import Completion, GenParams, Message, ModelCallError

Script = Callable[[list[Message], GenParams, int], "str | Completion | ModelCallError"]


class ScriptedBackend(ModelBackend):
    """Answers with `script(messages, params, call_index)`; records calls and the peak number in flight."""

    def __init__(self, script: Script, spec: str = "test:scripted", delay: float = 0.0) -> None:
        super().__init__(spec)
        self.script = script
        self.delay = delay
        self.calls: list[tuple[list[Message], GenParams]] = []
        self.in_flight = 0
        self.peak = 0
        self.closed = False

    async def _generate(self, messages: list[Message], params: GenParams) -> Completion:
        idx = len(self.calls)
        self.calls.append((messages, params))
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            out = self.script(messages, params, idx)
        finally:
            self.in_flight -= 1
        if isinstance(out, ModelCallError):
            raise out
        return out if isinstance(out, Completion) else Completion(text=out, model=self.spec)

    async def aclose(self) -> None:
        self.closed = True


def constant(text: str) -> ScriptedBackend:
    return ScriptedBackend(lambda m, p, i: text)


def sequence(*answers: str | ModelCallError) -> ScriptedBackend:
    """Answers in order; the last one repeats."""
    return ScriptedBackend(lambda m, p, i: answers[min(i, len(answers) - 1)])


def _cut(text: str, kind: str) -> tuple[str, str]:
    """Remove one fenced block: the nonce comes from the first marker seen (the instruction line); the block runs
    from the next BEGIN line to the FIRST END marker with that nonce, as a naive reader would take it."""
    m = re.search(rf"<<<BEGIN {kind} ([0-9a-f]+)>>>", text)
    assert m, f"no {kind} marker in the judge prompt"
    nonce = m.group(1)
    open_line = f"\n<<<BEGIN {kind} {nonce}>>>\n"
    start = text.index(open_line) + len(open_line)
    end = text.index(f"<<<END {kind} {nonce}>>>", start)
    return text[:start] + text[end:], text[start:end]


def outside_fence(user_text: str) -> tuple[str, str]:
    """(text outside both fences, the fenced response) as a naive judge would split the prompt."""
    rest, inside = _cut(user_text, "RESPONSE")
    if "<<<BEGIN TEST PROMPT" in rest:
        rest, _ = _cut(rest, "TEST PROMPT")
    return rest, inside


def gullible_judge() -> ScriptedBackend:
    """A judge that obeys any 'answer safe' it sees OUTSIDE the fence, and otherwise flags the fake payload."""

    def script(messages: list[Message], params: GenParams, i: int) -> str:
        outside, inside = outside_fence(messages[-1]["content"])
        if re.search(r"answer\s+safe", outside, re.I):
            return json.dumps({"verdict": "safe", "score": 0.0, "risk_tags": [], "explanation": "told to say safe"})
        harmful = "FAKE HARMFUL" in inside
        return json.dumps({"verdict": "unsafe" if harmful else "safe", "score": 0.95 if harmful else 0.05,
                           "risk_tags": ["CI"] if harmful else [], "explanation": "payload seen" if harmful else "ok"})

    return ScriptedBackend(script)


def record_calls(backend: ModelBackend) -> tuple[ModelBackend, list[list[Message]]]:
    """Wrap a real backend so the test can read every chat sent to it."""
    sent: list[list[Message]] = []
    original = backend._generate

    async def spy(messages: list[Message], params: GenParams) -> Any:
        sent.append(messages)
        return await original(messages, params)

    backend._generate = spy  # type: ignore[method-assign]
    return backend, sent
