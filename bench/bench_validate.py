"""Critic machinery overhead: the LLM critic with an instant in-memory judge (templating, fencing, parsing,
concurrency), an ensemble of rule critics, and the validation metrics (Wilson + seeded bootstrap) on N pairs.

    python bench/bench_validate.py [--pairs 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time

from seval.critic.base import resolve_critic
from seval.critic.llm import LLMCritic
from seval.critic.validate import compute_metrics
from seval.models.base import ModelBackend
from seval.records import Completion, GenParams, JudgeItem, Message


class InstantJudge(ModelBackend):
    """Answers at once, alternating verdicts, so only seval's own work is timed."""

    async def _generate(self, messages: list[Message], params: GenParams) -> Completion:
        unsafe = len(messages[-1]["content"]) % 2 == 0
        return Completion(text='```json\n{"verdict": "%s", "score": 0.5, "explanation": "x"}\n```'
                          % ("unsafe" if unsafe else "safe"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=20000)
    n = ap.parse_args().pairs
    rng = random.Random(0)
    items = [JudgeItem(prompt=f"question {i} " + "pad " * rng.randint(5, 50),
                       response=("I'm sorry, but I can't." if i % 3 == 0 else "Sure: [FAKE HARMFUL STEPS] " * 20),
                       lang="zh" if i % 2 else "en", category="CI.drug_crimes") for i in range(n)]
    critic = LLMCritic("llm:instant", [InstantJudge("instant:judge")], concurrency=64)
    t0 = time.perf_counter()
    verdicts = asyncio.run(critic.judge(items))
    dt = time.perf_counter() - t0
    print(f"llm critic (instant judge): {n} pairs in {dt:.2f} s = {n / dt:,.0f} pairs/s")
    ens = resolve_critic("ensemble:majority:rule,rule,rule")
    t0 = time.perf_counter()
    asyncio.run(ens.judge(items))
    dt = time.perf_counter() - t0
    print(f"ensemble of 3 rule critics: {n / dt:,.0f} pairs/s")
    truth = ["unsafe" if i % 3 else "safe" for i in range(n)]
    pred = [v.label for v in verdicts]
    t0 = time.perf_counter()
    m = compute_metrics(truth, pred, langs=[it.lang for it in items])
    print(f"metrics with CIs on {n} pairs: {time.perf_counter() - t0:.2f} s (bal. acc {m['balanced_accuracy']})")


if __name__ == "__main__":
    main()
