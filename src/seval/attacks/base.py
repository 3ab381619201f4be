"""The attack interface, the attack registry and `apply_attacks`, which streams attack variants of base cases.

An attack turns one base `TestCase` into one attack `TestCase` (S-Eval: ten attack prompts per base prompt).
Each attack is one module in this package that decorates its class with ``@ATTACKS.register("<name>")``.
Randomness comes only from the `random.Random` passed in, which `apply_attacks` derives from
(seed, base case id, attack name): the output of a case does not depend on order, batching or concurrency.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter, deque
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from seval.errors import SevalError
from seval.models.base import ModelBackend
from seval.models.policy import CallPolicy, with_policy
from seval.models.scope import current_scope, open_scope
from seval.records import Message, TestCase, md5_hex
from seval.registry import Registry

ATTACKS: Registry[type[Attack]] = Registry("attack", "seval.attacks", group="seval.attacks")

#: the ten attacks of S-Eval, with the names used in its released data
SEVAL_ATTACKS: tuple[str, ...] = (
    "positive_induction",
    "reverse_induction",
    "code_injection",
    "instruction_jailbreak",
    "goal_hijacking",
    "instruction_encryption",
    "deepinception",
    "in_context_attack",
    "chain_of_utterances",
    "compositional_instructions",
)


class Attack:
    """One adversarial transformation of a base risk prompt into an attack prompt."""

    name: ClassVar[str] = ""
    #: one line for `seval attack list`
    description: ClassVar[str] = ""
    #: the paper the attack follows: "Authors Year, Title"
    source: ClassVar[str] = ""
    #: not one of S-Eval's ten attacks
    extension: ClassVar[bool] = False
    #: uses a rewriter model when one is given (and falls back to templates when not)
    needs_model: ClassVar[bool] = False

    async def apply(self, case: TestCase, rng: random.Random, rewriter: ModelBackend | None) -> TestCase:
        """The attack variant of `case`. An empty or blank base prompt raises `SevalError`."""
        if not case.prompt or not case.prompt.strip():
            raise SevalError(f"case {case.id or '?'}: empty prompt, nothing to attack")
        prompt, turns, meta = await self.build(case, rng, rewriter)
        return self.derive(case, prompt, meta, turns)

    async def build(
        self, case: TestCase, rng: random.Random, rewriter: ModelBackend | None
    ) -> tuple[str, list[Message] | None, dict[str, Any]]:
        """The attack prompt, earlier turns (multi-turn attacks, else None) and provenance; subclasses override."""
        raise NotImplementedError

    def derive(self, case: TestCase, prompt: str, meta: dict[str, Any],
               turns: list[Message] | None = None) -> TestCase:
        """The attack TestCase: new id (md5 of the prompt, or of the whole chat when multi-turn), same risk."""
        key = prompt if not turns else json.dumps([*turns, {"role": "user", "content": prompt}], ensure_ascii=False)
        return TestCase(
            id=md5_hex(key),
            prompt=prompt,
            lang=case.lang,
            dimension=case.dimension,
            category=case.category,
            risk=case.risk,
            attack=self.name,
            base_id=case.id or md5_hex(case.prompt),
            from_id=None,
            turns=turns,
            meta=dict(meta),
        )


def attack_names(spec: str | Iterable[str]) -> list[str]:
    """Parse `all`, `seval` (the ten), `extensions`, or comma-separated names; unknown names list the valid ones."""
    items = [s.strip() for s in spec.split(",")] if isinstance(spec, str) else [s.strip() for s in spec]
    items = [s for s in items if s]
    if not items:
        raise SevalError("no attack named; use `all` or names from `seval attack list`")
    out: list[str] = []
    valid = ATTACKS.names()
    for item in items:
        if item == "all":
            group = [n for n in SEVAL_ATTACKS if n in valid] + [n for n in valid if n not in SEVAL_ATTACKS]
        elif item == "seval":
            group = list(SEVAL_ATTACKS)
        elif item == "extensions":
            group = [n for n in valid if ATTACKS.get(n).extension]
        elif item in valid:
            group = [item]
        else:
            raise SevalError(f"unknown attack {item!r}; valid: all, seval, extensions, {', '.join(valid)}")
        out.extend(n for n in group if n not in out)
    return out


def get_attack(name: str) -> Attack:
    """An instance of the registered attack `name` (SevalError listing valid names otherwise)."""
    return ATTACKS.get(name)()


def case_rng(seed: int, case_id: str, attack: str) -> random.Random:
    """The rng of one (case, attack): string seeding is stable across processes and Python runs."""
    return random.Random(f"{seed}\x1f{case_id}\x1f{attack}")


@dataclass
class AttackStats:
    """What a run of `apply_attacks` produced: prompts per attack, rewriter fallbacks, skipped base cases."""

    produced: Counter[str] = field(default_factory=Counter)
    fallbacks: Counter[str] = field(default_factory=Counter)
    skipped_empty: int = 0


async def _aiter(cases: Iterable[TestCase] | AsyncIterable[TestCase]) -> AsyncIterator[TestCase]:
    if isinstance(cases, AsyncIterable):
        async for c in cases:
            yield c
    else:
        for c in cases:
            yield c


async def apply_attacks(
    cases: Iterable[TestCase] | AsyncIterable[TestCase],
    names: str | Iterable[str],
    seed: int = 0,
    rewriter: ModelBackend | None = None,
    concurrency: int = 16,
    stats: AttackStats | None = None,
) -> AsyncIterator[TestCase]:
    """Stream every named attack of every case, in input order (case by case, attacks in the order named).

    Up to `concurrency` attack calls run at once (only rewriter calls actually wait). Cases with an empty
    prompt are skipped and counted in `stats.skipped_empty`. Output is reproducible for a given seed.
    """
    if concurrency < 1:
        raise SevalError(f"concurrency must be >= 1, got {concurrency}")
    attacks = [get_attack(n) for n in attack_names(names)]
    stats = stats if stats is not None else AttackStats()
    if rewriter is not None:  # retries, limits and metering: the rewriter's call policy (role `rewriter`)
        rewriter = with_policy(rewriter, "rewriter", concurrency=concurrency)
    # the caller's scope (a `seval attack` budget), else one default scope for the whole stream
    scope = current_scope() or CallPolicy()
    # in input order: finished results (rule-based) and in-flight rewriter calls
    pending: deque[TestCase | asyncio.Task[TestCase]] = deque()
    in_flight = 0

    def record(out: TestCase) -> TestCase:
        stats.produced[out.attack or ""] += 1
        if out.meta.get("rewriter") == "fallback" and rewriter is not None:
            stats.fallbacks[out.attack or ""] += 1
        return out

    async def one(attack: Attack, case: TestCase) -> TestCase:
        with open_scope(scope):
            out = await attack.apply(case, case_rng(seed, case.id or md5_hex(case.prompt), attack.name), rewriter)
        out.meta["seed"] = seed
        return out

    async def pop() -> TestCase:
        nonlocal in_flight
        item = pending.popleft()
        if isinstance(item, TestCase):
            return item
        in_flight -= 1
        return await item

    try:
        async for case in _aiter(cases):
            if not case.prompt or not case.prompt.strip():
                stats.skipped_empty += 1
                continue
            for attack in attacks:
                if rewriter is None or not attack.needs_model:
                    pending.append(await one(attack, case))  # nothing to wait for: computed inline
                else:
                    pending.append(asyncio.ensure_future(one(attack, case)))
                    in_flight += 1
                while pending and (isinstance(pending[0], TestCase) or pending[0].done() or in_flight >= concurrency):
                    yield record(await pop())
        while pending:
            yield record(await pop())
    finally:
        for item in pending:
            if isinstance(item, asyncio.Task):
                item.cancel()
