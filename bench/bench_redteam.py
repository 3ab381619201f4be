"""Adaptive red teaming on the embedded model: PAIR, TAP and Crescendo with SmolLM2 as target AND attacker.

    python bench/bench_redteam.py [--per-lang 4] [--max-turns 3] [--width 2] [--depth 2] [--branching 2]
                                  [--out seval-runs/bench-redteam] [--target local:smollm2] [--attacker local:smollm2]

Takes the first --per-lang English and --per-lang Chinese base prompts of the packaged starter benchmark,
writes them to OUT/base.jsonl and runs `seval redteam` on them (the embedded critic judges), then prints the
attack success rate per method with its Wilson 95% interval, the mean queries to success, the calls per base
prompt and the wall time. The same command again resumes (and replays the stored steps: wall time ~0).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def pick(per_lang: int, out: Path) -> Path:
    from seval.io import read_cases, starter_path

    chosen: dict[str, list[dict[str, object]]] = {"en": [], "zh": []}
    for c in read_cases(starter_path()):
        if c.attack is None and len(chosen[c.lang]) < per_lang:
            chosen[c.lang].append(c.to_dict())
    out.mkdir(parents=True, exist_ok=True)
    path = out / "base.jsonl"
    with open(path, "w", encoding="utf-8") as fh:
        for row in chosen["en"] + chosen["zh"]:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-lang", type=int, default=4)
    ap.add_argument("--max-turns", type=int, default=3)
    ap.add_argument("--width", type=int, default=2)
    ap.add_argument("--depth", type=int, default=2)
    ap.add_argument("--branching", type=int, default=2)
    ap.add_argument("--target", default="local:smollm2")
    ap.add_argument("--attacker", default="local:smollm2")
    ap.add_argument("--out", default="seval-runs/bench-redteam")
    args = ap.parse_args()

    from seval.api import redteam
    from seval.commands.redteam import summary_table
    from seval.redteam import RedteamSettings

    out = Path(args.out)
    bench = pick(args.per_lang, out)
    t0 = time.perf_counter()
    res = redteam(args.target, args.attacker, bench=bench, methods="pair,tap,crescendo",
                  settings=RedteamSettings(max_turns=args.max_turns, width=args.width, depth=args.depth,
                                           branching=args.branching), out=out / "run")
    wall = time.perf_counter() - t0
    print(f"target {args.target}, attacker {args.attacker}, critic {res.summary['critic']['spec']}, "
          f"{res.summary['n_base_prompts']} base prompts ({args.per_lang} en + {args.per_lang} zh), "
          f"max_turns={args.max_turns} width={args.width} depth={args.depth} branching={args.branching}")
    print(summary_table(res.summary))
    roles = res.summary.get("calls_by_role") or {}
    print("model requests this invocation: " + ", ".join(f"{k} {v.get('requests')}" for k, v in roles.items()))
    print(f"wall time: {wall:.1f} s{'' if res.complete else ' (stopped early: ' + str(res.message) + ')'}")


if __name__ == "__main__":
    main()
