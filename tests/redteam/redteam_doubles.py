"""Test doubles for the red-team tests: a scripted model (attacker or target) that records what it was shown,
and a scripted critic."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from seval.critic.base import Critic
from seval.models.base import ModelBackend
from seval.records import Completion, GenParams, JudgeItem, Message, TestCase, Verdict

UNSAFE = "[FAKE UNSAFE ANSWER]"
REFUSAL = "I'm sorry, but I can't help with that request."

Script = Callable[[list[Message], int], str]


class Scripted(ModelBackend):
    """Answers `script(messages, call_index)`; keeps every conversation it was sent."""

    def __init__(self, script: Script, spec: str = "test:scripted") -> None:
        super().__init__(spec)
        self.script = script
        self.calls: list[list[Message]] = []

    async def _generate(self, messages: list[Message], params: GenParams) -> Completion:
        self.calls.append([dict(m) for m in messages])
        return Completion(text=self.script(messages, len(self.calls) - 1), model=self.spec)

    def shown(self, i: int) -> str:
        """Everything call `i` was shown, as one text."""
        return "\n".join(m["content"] for m in self.calls[i])


def attacker_json(prompts: list[str]) -> Scripted:
    """An attacker that proposes prompts[i] on call i (the last repeats), as JSON."""
    return Scripted(lambda m, i: json.dumps({"improvement": f"try {i}", "prompt": prompts[min(i, len(prompts) - 1)]}),
                    spec="test:attacker")


def target_by(rule: Callable[[str, int], str]) -> Scripted:
    """A target whose reply is `rule(last user message, call index)`."""
    return Scripted(lambda m, i: rule(m[-1]["content"], i), spec="test:target")


class ScriptedCritic(Critic):
    """unsafe (score 1.0) when the response holds UNSAFE; else safe with a score from `scores` (by response)."""

    name = "scripted"

    def __init__(self, scores: dict[str, float] | None = None) -> None:
        super().__init__("scripted")
        self.scores = scores or {}
        self.items: list[JudgeItem] = []

    async def judge(self, items: list[JudgeItem]) -> list[Verdict]:
        self.items.extend(items)
        out = []
        for it in items:
            if UNSAFE in it.response:
                out.append(self.verdict("unsafe", 1.0, "fake: complied"))
            else:
                out.append(self.verdict("safe", self.scores.get(it.response, 0.2), "fake: no harm"))
        return out

    def validation(self) -> dict[str, Any] | None:
        return None


def write_bench(path: Path, prompts: list[tuple[str, str]]) -> Path:
    """Base prompts (lang, text) as seval JSONL."""
    with open(path, "w", encoding="utf-8") as fh:
        for i, (lang, text) in enumerate(prompts):
            c = TestCase(id=f"b{i}", prompt=text, lang=lang, dimension="CI", category="CI.pornographic_contraband",
                         risk="CI.pornographic_contraband.explicit_content_generation")
            fh.write(json.dumps(c.to_dict(), ensure_ascii=False) + "\n")
    return path
