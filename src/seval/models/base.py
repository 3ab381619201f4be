"""The backend interface and the model-string parser.

A model string is `<scheme>:<rest>`; the scheme picks a registered backend (one module in this package),
which parses `rest` itself: `openai-compatible:http://host:8000/v1#qwen2.5`, `llama-cpp:/path/m.gguf`, ...
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from seval.errors import SevalError
from seval.models.scope import current_role, current_scope, sending
from seval.records import Completion, GenParams, Message, ModelCallError, stable_hash
from seval.registry import Registry

MODELS: Registry[Callable[..., ModelBackend]] = Registry("model backend", "seval.models", group="seval.models")


class ModelBackend(ABC):
    """A chat model. Subclasses implement `_generate`; errors are raised as typed `ModelCallError`s."""

    #: how many prompts the backend can usefully take in one `generate_many` call (1 = no batching gain)
    max_batch: int = 1
    #: how many requests may be in flight at once (remote endpoints: many; in-process models: 1)
    default_concurrency: int = 8
    #: Ray resources one worker actor of this backend needs under `--executor ray` (e.g. {"num_gpus": 1});
    #: {}: one CPU. Each worker builds the backend from its spec once (construction must not load weights
    #: before the first call: the driver builds one too, for its spec and hash)
    ray_actor_options: dict[str, Any] = {}  # noqa: RUF012  (read-only, per class)
    #: True for a backend that calls other backends (a defended model, a role wrapper): it is not metered
    #: itself, the calls it makes are
    composite: bool = False

    def __init__(self, spec: str) -> None:
        from seval.spec import redact_url

        self.spec = redact_url(spec)  # what runs write and print: never a URL's user:KEY@

    def config(self) -> dict[str, Any]:
        """What identifies this target for caching: the spec plus backend settings, never secrets."""
        return {"spec": self.spec}

    def config_hash(self) -> str:
        return stable_hash(self.config())

    async def generate(self, messages: list[Message], params: GenParams) -> Completion:
        """One answer. Inside a call scope (seval.models.scope) the call goes through the scope's guard for
        this backend in the caller's role: limiter, breaker, budget, retries."""
        if not messages:
            raise SevalError("cannot call a model with no messages")
        if not self.composite and not sending():
            policy = current_scope()
            if policy is not None:
                return await policy.send(self, current_role(), messages, params)
        return await self._generate(messages, params)

    @abstractmethod
    async def _generate(self, messages: list[Message], params: GenParams) -> Completion: ...

    async def generate_many(
        self, batch: list[list[Message]], params: GenParams
    ) -> list[Completion | ModelCallError]:
        """Answer several conversations (a batching backend in one go, through the scope's guard)."""
        if self.max_batch > 1 and len(batch) > 1 and not self.composite and not sending():
            policy = current_scope()
            if policy is not None:
                return await policy.send_many(self, current_role(), batch, params)
        return await self._generate_many(batch, params)

    async def _generate_many(
        self, batch: list[list[Message]], params: GenParams
    ) -> list[Completion | ModelCallError]:
        """Several conversations, one `generate` each; in-process backends override this to batch."""
        results = await asyncio.gather(*(self.generate(m, params) for m in batch), return_exceptions=True)
        out: list[Completion | ModelCallError] = []
        for r in results:
            if isinstance(r, BaseException) and not isinstance(r, ModelCallError):
                raise r
            out.append(r)  # type: ignore[arg-type]
        return out

    async def aclose(self) -> None:
        """Release connections or model memory."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.spec}>"


def build_messages(prompt: str, params: GenParams, turns: list[Message] | None = None) -> list[Message]:
    """The chat for one test prompt: optional system prompt, earlier turns, then the user prompt."""
    msgs: list[Message] = []
    if params.system_prompt:
        msgs.append({"role": "system", "content": params.system_prompt})
    if turns:
        msgs.extend(turns)
    msgs.append({"role": "user", "content": prompt})
    return msgs


def resolve_model(spec: str, **options: Any) -> ModelBackend:
    """Build the backend a model string names; unknown schemes list the valid ones."""
    from seval.spec import parse_spec, spec_error

    example = "local:smollm2, openai:gpt-4o-mini, openai-compatible:http://127.0.0.1:8000/v1#my-model"
    parsed = parse_spec(spec, "model", example=example)
    if ":" not in parsed.raw:
        raise spec_error("model", parsed.raw, f"expected <backend>:<model>; backends: {', '.join(MODELS.names())}",
                         example)
    factory = MODELS.get(parsed.name)
    return factory(spec, parsed.body, **options)
