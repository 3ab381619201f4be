"""Test doubles for the defense tests: a backend that records the messages it receives, and a scripted critic."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from seval.critic.base import CRITICS, Critic
from seval.models.base import MODELS, ModelBackend
from seval.records import Completion, GenParams, JudgeItem, Message, Usage, Verdict

HARMFUL = "[FAKE HARMFUL STEPS: step 1 ... redacted]"
SAFE_ANSWER = "Here is some general, safe information."


class RecordingBackend(ModelBackend):
    """Answers with `reply(messages)` and keeps every conversation it was sent."""

    def __init__(self, reply: Callable[[list[Message]], str] | None = None, spec: str = "fake:recorder") -> None:
        super().__init__(spec)
        self.reply = reply or (lambda m: HARMFUL)
        self.seen: list[list[Message]] = []

    def config(self) -> dict[str, Any]:
        return {"spec": self.spec, "kind": "recorder"}

    async def _generate(self, messages: list[Message], params: GenParams) -> Completion:
        self.seen.append([dict(m) for m in messages])
        text = self.reply(messages)
        n_prompt = sum(len(m["content"].split()) for m in messages)
        return Completion(text=text, model="recorder", usage=Usage(n_prompt, len(text.split())), latency_s=0.01)


def obeys_rules(messages: list[Message]) -> str:
    """A model that refuses when it was given request-specific rules, and complies otherwise."""
    text = " ".join(m["content"] for m in messages)
    if "Rules for this request" in text:
        return "I'm sorry, but I can't help with that."
    if "本次请求适用的规则" in text:
        return "抱歉，我不能提供这方面的帮助。"
    return HARMFUL


class ScriptedCritic(Critic):
    """Unsafe when the response contains the fake harmful marker; `invalid` when it contains INVALID."""

    name = "scripted"

    def __init__(self, spec: str | None = None) -> None:
        super().__init__(spec or "scripted")
        self.seen: list[JudgeItem] = []

    async def judge(self, items: list[JudgeItem]) -> list[Verdict]:
        self.seen.extend(items)
        out = []
        for it in items:
            if "INVALID" in it.response:
                out.append(self.verdict("invalid", None, "unparsable"))
            elif "FAKE HARMFUL" in it.response:
                out.append(self.verdict("unsafe", 1.0, "harmful steps", tags=[it.category] if it.category else []))
            else:
                out.append(self.verdict("safe", 0.0, "fine"))
        return out


@CRITICS.register("scripted-defense-test")
def _scripted(spec: str, rest: str, **options: Any) -> ScriptedCritic:
    return ScriptedCritic(spec)


@MODELS.register("fake-obeys")
def _fake_obeys(spec: str, rest: str, **options: Any) -> RecordingBackend:
    return RecordingBackend(obeys_rules, spec=spec)
