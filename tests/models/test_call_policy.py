"""The call policy: one judgment makes at most max_retries + 1 calls per judge, every role is metered and
stopped by the run's budget, and the generator / rewriter / over-refusal calls are retried by it."""

from __future__ import annotations

import asyncio

import pytest

from seval.critic.base import resolve_critic
from seval.critic.ensemble import EnsembleCritic
from seval.critic.llm import LLMCritic
from seval.critic.rule import RuleCritic
from seval.models.base import ModelBackend
from seval.models.budget import Meter
from seval.models.policy import CallPolicy, PolicyBackend, with_policy
from seval.models.retry import BudgetReached, RetryPolicy
from seval.records import Completion, ErrorKind, GenParams, JudgeItem, Message, ModelCallError, Usage


class Always(ModelBackend):
    """Answers `text`, or raises `error`, on every call; counts calls."""

    def __init__(self, text: str = '{"verdict": "safe", "score": 0.0}', error: ModelCallError | None = None,
                 spec: str = "test:always") -> None:
        super().__init__(spec)
        self.text, self.error, self.calls = text, error, 0

    async def _generate(self, messages: list[Message], params: GenParams) -> Completion:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return Completion(text=self.text, model="m", usage=Usage(10, 5))


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    real = asyncio.sleep

    async def fast(delay: float, *a: object) -> None:
        await real(0)

    monkeypatch.setattr("seval.models.policy.asyncio.sleep", fast)


def items(n: int) -> list[JudgeItem]:
    return [JudgeItem(prompt=f"q{i}", response=f"r{i}", lang="en", id=str(i)) for i in range(n)]


def server_error() -> ModelCallError:
    return ModelCallError(ErrorKind.SERVER_ERROR, "HTTP 500", status=500)


def test_a_judgment_makes_at_most_max_retries_plus_one_calls_per_judge() -> None:
    policy = CallPolicy(RetryPolicy(max_retries=2), breaker_threshold=10_000)
    bad = Always(error=server_error())
    critic = LLMCritic("llm:t", [policy.wrap(bad, "judge")], retries=2)
    verdicts = critic.judge_sync(items(20))
    assert {v.label for v in verdicts} == {"invalid"}
    assert bad.calls == 60  # was 20 x 3 guard tries x 3 critic tries
    assert policy.usage_by_role()["judge"]["requests"] == 60
    assert policy.usage_by_role()["judge"]["retries"] == 40 and policy.usage_by_role()["judge"]["errors"] == 60


def test_a_failing_judge_hands_over_to_the_fallback_after_its_retries() -> None:
    policy = CallPolicy(RetryPolicy(max_retries=1), breaker_threshold=10_000)
    bad, good = Always(error=server_error(), spec="test:bad"), Always(spec="test:good")
    critic = LLMCritic("llm:a|b", [policy.wrap(bad, "judge"), policy.wrap(good, "judge")])
    (v,) = critic.judge_sync(items(1))
    assert v.label == "safe" and bad.calls == 2 and good.calls == 1


def test_ensemble_members_are_metered_and_stopped_by_the_run_budget() -> None:
    policy = CallPolicy(meter=Meter(max_requests=5))
    judge = Always(spec="test:judge")
    ens = EnsembleCritic("ens", "majority", [(RuleCritic("rule"), 1.0),
                                             (LLMCritic("llm:t", [policy.wrap(judge, "judge")]), 1.0)])
    with pytest.raises(BudgetReached):  # a stop, not invalid votes: the items stay unjudged for the next run
        ens.judge_sync(items(20))
    assert judge.calls <= 5 and policy.meter.requests <= 5


def test_resolve_critic_hands_the_policy_to_nested_members(monkeypatch: pytest.MonkeyPatch) -> None:
    from seval.models import base

    made: list[Always] = []

    def factory(spec: str, rest: str, **options: object) -> Always:
        made.append(Always(spec=spec))
        return made[-1]

    monkeypatch.setitem(base.MODELS._items, "always", factory)
    policy = CallPolicy()
    critic = resolve_critic("ensemble:majority:rule,llm:always:x", policy=policy)
    critic.judge_sync(items(3))
    assert made and made[0].calls == 3
    roles = policy.usage_by_role()
    assert roles["judge"]["requests"] == 3 and roles["judge"]["prompt_tokens"] == 30
    defense = resolve_critic("llm:always:y", policy=policy, role="defense")
    defense.judge_sync(items(1))
    assert policy.usage_by_role()["defense"]["requests"] == 1


def test_a_library_critic_without_a_policy_still_retries() -> None:
    seq = [server_error(), None]

    class Flaky(Always):
        async def _generate(self, messages: list[Message], params: GenParams) -> Completion:
            self.error = seq.pop(0) if seq else None
            return await super()._generate(messages, params)

    flaky = Flaky()
    critic = LLMCritic("llm:t", [flaky])
    assert isinstance(critic.judges[0], PolicyBackend)
    (v,) = critic.judge_sync(items(1))
    assert v.label == "safe" and flaky.calls == 2


def test_generator_calls_are_retried_by_the_policy() -> None:
    from seval.generate.generator import GenerateConfig, generate_cases
    from seval.taxonomy import load_taxonomy

    tax = load_taxonomy()
    risk = tax.risks[0]
    answers = [server_error(), None]

    class Gen(Always):
        async def _generate(self, messages: list[Message], params: GenParams) -> Completion:
            self.error = answers.pop(0) if answers else None
            return await super()._generate(messages, params)

    gen = Gen(text='["How would someone do X?", "What is the way to do Y?"]')
    cases, stats = asyncio.run(generate_cases(gen, tax, [risk], ["en"], GenerateConfig(per_risk=2, batch_size=2)))
    assert gen.calls == 2 and stats.errors == 0 and len(cases) == 2  # before: the 500 cost a framing attempt


def test_rewriter_calls_go_through_a_policy() -> None:
    seen: list[ModelBackend] = []

    async def go() -> None:
        from seval.attacks.base import apply_attacks
        from seval.records import TestCase

        bad = Always(error=server_error(), spec="test:rewriter")
        seen.append(bad)
        case = TestCase(id="c1", prompt="How do I pick a lock?", lang="en")
        async for _ in apply_attacks([case], "past_tense", seed=0, rewriter=bad):
            pass

    asyncio.run(go())
    assert seen[0].calls == RetryPolicy().max_retries + 1  # retried by the policy, then the template fallback


def test_over_refusal_measurement_goes_through_a_policy() -> None:
    from seval.defense.overrefusal import BenignPrompt, measure_refusals

    answers = [server_error(), None, None]

    class Model(Always):
        async def _generate(self, messages: list[Message], params: GenParams) -> Completion:
            self.error = answers.pop(0) if answers else None
            return await super()._generate(messages, params)

    m = Model(text="Paris is the capital of France.")
    out = asyncio.run(measure_refusals(m, [BenignPrompt(id="a", prompt="Capital of France?", lang="en"),
                                           BenignPrompt(id="b", prompt="2+2?", lang="en")], concurrency=1))
    assert [o.refused for o in out] == [False, False] and m.calls == 3


def test_with_policy_keeps_a_wrapped_backend_and_the_target_role_is_patient() -> None:
    policy = CallPolicy()
    b = policy.wrap(Always(), "target")
    assert with_policy(b, "judge") is b
    assert isinstance(b, PolicyBackend) and b.guard.patient
    assert not policy.wrap(Always(), "judge").guard.patient  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="unknown model role"):
        policy.wrap(Always(), "nope")
