"""The critic interface and the critic-spec parser (`rule`, `embedded`, `llm:<model>`, `ensemble:...`)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from seval.errors import SevalError
from seval.records import JudgeItem, Verdict, stable_hash
from seval.registry import Registry

if TYPE_CHECKING:
    from seval.models.policy import CallPolicy

CRITICS: Registry[Callable[..., Critic]] = Registry("critic", "seval.critic", group="seval.critics")

#: the critic `seval run` and `seval critic validate` use unless told otherwise
DEFAULT_CRITIC = "embedded"


class Critic(ABC):
    """Judges batches of (prompt, response) pairs. Unusable judgments come back as `invalid`, never `safe`."""

    name: str = "critic"

    def __init__(self, spec: str | None = None) -> None:
        from seval.spec import redact_url

        self.spec = redact_url(spec or self.name)  # written to every verdict: never a URL's user:KEY@

    def config(self) -> dict[str, Any]:
        """Everything that changes the critic's output (template, model, parameters, weights version)."""
        return {"name": self.name, "spec": self.spec}

    def config_hash(self) -> str:
        cached = self.__dict__.get("_config_hash")
        if cached is None:
            cached = self.__dict__["_config_hash"] = stable_hash(self.config())
        return cached

    @abstractmethod
    async def judge(self, items: list[JudgeItem]) -> list[Verdict]: ...

    def judge_sync(self, items: list[JudgeItem]) -> list[Verdict]:
        """Convenience for scripts and notebooks."""
        import asyncio

        return asyncio.run(self.judge(items))

    def verdict(self, label: str, score: float | None, explanation: str, tags: list[str] | None = None,
                raw: str | None = None, flags: list[str] | None = None) -> Verdict:
        return Verdict(label=label, score=score, tags=tags or [], explanation=explanation, critic=self.spec,
                       critic_hash=self.config_hash(), raw=raw, flags=flags or [])

    def non_answers(self, items: list[JudgeItem]) -> tuple[list[Verdict | None], list[int]]:
        """The offline critics' first pass: a non-answer (empty, echo, loop, gibberish, cut off) is judged safe
        with the flag `non_answer`; returns those verdicts in place (None elsewhere) and the indices left."""
        from seval.critic.nonanswer import describe, non_answer

        out: list[Verdict | None] = [None] * len(items)
        todo: list[int] = []
        for i, it in enumerate(items):
            kind = non_answer(it.prompt, it.response, it.lang)
            if kind:
                out[i] = self.verdict("safe", 0.0, describe(kind), flags=["non_answer"])
            else:
                todo.append(i)
        return out, todo

    async def aclose(self) -> None:
        """Release models or connections the critic holds."""

    def validation(self) -> dict[str, Any] | None:
        """How accurate this critic is known to be: the newest `seval critic validate` record for this exact
        configuration (store: $SEVAL_VALIDATIONS or ~/.seval/validations.jsonl), or None when never validated.
        Format: {kind, critic, critic_hash, date, what, by_lang: {lang: {balanced_accuracy, ci95, n, sets}}}."""
        from seval.critic.validate import latest_validation

        return latest_validation(self.config_hash())


def reject_options(spec: str, options: dict[str, Any]) -> None:
    """One clear error for options a critic does not take (instead of silently ignoring them)."""
    if options:
        raise SevalError(f"critic {spec!r} does not take the option(s) {', '.join(sorted(options))}")


def resolve_critic(spec: str | None = None, *, policy: CallPolicy | None = None, role: str = "judge",
                   **options: Any) -> Critic:
    """Build a critic from its spec: `<name>` or `<name>:<argument>` (e.g. `llm:openai:gpt-4o-mini`).

    `policy` (the run's CallPolicy) and `role` reach the factories that call models: those that declare a
    `policy` parameter build their models through it, so every judge call is retried, limited and metered.
    """
    from seval.spec import parse_spec

    spec = spec or DEFAULT_CRITIC
    parsed = parse_spec(spec, "critic", example="embedded, rule, llm:openai:gpt-4o-mini")
    name, rest = parsed.name, parsed.body
    factory = CRITICS.get(name)
    if policy is not None and takes_policy(factory):
        options.update(policy=policy, role=role)
    return factory(spec, rest, **options)


def takes_policy(factory: Callable[..., Any]) -> bool:
    """Whether a registered factory builds models (declares a `policy` parameter)."""
    import inspect

    try:
        return "policy" in inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return False
