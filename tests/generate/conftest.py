"""Fixtures for the generation tests: a scripted generator backend (the real server is tests/conftest.py's
`llama_server`)."""

from __future__ import annotations

from collections.abc import Callable

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
    """Makes the model string `gen-scripted:<anything>` resolve to a ScriptedBackend running `script`."""
    from seval.models.base import MODELS

    if "gen-scripted" not in MODELS.names():
        MODELS.register("gen-scripted")(_Dispatch.factory)

    def use(script: Script) -> None:
        _Dispatch.script = script

    return use


class _Dispatch:
    """The registered `gen-scripted` factory (registered once per session) runs the latest test's script."""

    script: Script | None = None

    @staticmethod
    def factory(spec: str, rest: str, **options: object) -> ScriptedBackend:
        assert _Dispatch.script is not None
        return ScriptedBackend(_Dispatch.script, spec)
