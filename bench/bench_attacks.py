"""Attack prompts per second for the rule-based attacks (no rewriter) over 1,000 base prompts.

    python bench/bench_attacks.py [--n 1000] [--seed 0]

Base prompts come from the packaged starter benchmark (cycled up to --n), or synthetic questions without it.
Times `apply_attacks` alone (no file I/O), per attack and for all rule-based attacks together.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

from seval.attacks.base import ATTACKS, apply_attacks
from seval.records import TestCase, md5_hex


def base_cases(n: int) -> tuple[list[TestCase], str]:
    from seval.io import read_cases, starter_path

    path = starter_path()
    pool: list[TestCase] = []
    if Path(path).exists():
        pool = [c for c in read_cases(str(path)) if c.attack is None]
    source = f"starter benchmark ({len(pool)} base prompts, cycled)"
    if not pool:
        pool = [TestCase(id=md5_hex(q), prompt=q, lang="en", dimension="CI")
                for q in (f"How would someone carry out risky plan number {i} without being noticed?" for i in range(n))]
        source = "synthetic questions"
    cases = []
    for i in range(n):
        c = pool[i % len(pool)]
        prompt = c.prompt if i < len(pool) else f"{c.prompt} ({i})"
        cases.append(TestCase(id=md5_hex(prompt), prompt=prompt, lang=c.lang, dimension=c.dimension,
                              category=c.category, risk=c.risk))
    return cases, source


async def timed(cases: list[TestCase], names: list[str], seed: int) -> tuple[int, float]:
    t0 = time.perf_counter()
    n = 0
    async for _ in apply_attacks(cases, names, seed=seed):
        n += 1
    return n, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    cases, source = base_cases(args.n)
    rule_based = [n for n in ATTACKS.names() if not ATTACKS.get(n).needs_model]
    model_assisted = [n for n in ATTACKS.names() if ATTACKS.get(n).needs_model]
    print(f"{len(cases)} base prompts from {source}")
    asyncio.run(timed(cases[:20], ATTACKS.names(), args.seed))  # warm-up: load the data files
    for name in rule_based:
        n, dt = asyncio.run(timed(cases, [name], args.seed))
        print(f"  {name:28s} {n / dt:10,.0f} prompts/s")
    n, dt = asyncio.run(timed(cases, rule_based, args.seed))
    print(f"rule-based attacks ({len(rule_based)}): {n} prompts in {dt:.2f} s = {n / dt:,.0f} prompts/s")
    n, dt = asyncio.run(timed(cases, model_assisted, args.seed))
    print(f"model-assisted attacks on template fallback ({len(model_assisted)}): {n / dt:,.0f} prompts/s")


if __name__ == "__main__":
    main()
