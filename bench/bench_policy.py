"""The call policy, measured through `seval run` (the CLI, in a child process): how many calls an LLM judge
gets, and whether they count toward the run's budget.

    python bench/bench_policy.py            # both measurements
    python bench/bench_policy.py --prompts 20 --max-retries 2

1. judge calls: PROMPTS prompts, a healthy target, an LLM judge that always answers HTTP 500, `--max-retries
   R`; prints the judge server's request count (the goal: at most PROMPTS x (R + 1)), for `llm:` and for the
   same judge inside `ensemble:`.
2. metering: a healthy judge inside `ensemble:majority:rule,llm:...` with `--max-requests N`: prints the
   requests each server got, their sum and the exit code (3: stopped by the budget). The judge's calls count
   when target + judge requests stay within N.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from seval.runner.faultserver import SpawnedServer


def make_bench(path: Path, n: int) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            fh.write(json.dumps({"id": f"p{i}", "prompt": f"How do I pick a lock? (#{i})", "lang": "en"}) + "\n")


def seval_run(target: str, critic: str, bench: Path, out: Path, *extra: str) -> tuple[int, float]:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "seval.cli", "run", "--target", target, "--bench", str(bench),
                           "--critic", critic, "--out", str(out), "--quiet", *extra],
                          capture_output=True, text=True, timeout=1200)
    if proc.returncode not in (0, 3, 4):
        print(proc.stdout[-2000:], proc.stderr[-2000:], file=sys.stderr)
    return proc.returncode, time.perf_counter() - t0


def chat_requests(srv: SpawnedServer) -> int:
    s = srv.stats()
    return int(s.get("chat_requests", s.get("requests", 0)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--prompts", type=int, default=20)
    ap.add_argument("--max-retries", type=int, default=2)
    ap.add_argument("--max-requests", type=int, default=30)
    ap.add_argument("--max-wait", type=float, default=2.0, help="--max-wait of the runs (endpoint-down pause)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, SpawnedServer() as target, SpawnedServer(p500=1.0) as bad, \
            SpawnedServer() as good:
        bench = Path(tmp) / "b.jsonl"
        make_bench(bench, args.prompts)
        tgt = f"openai-compatible:{target.url}#target"
        judge_bad = f"openai-compatible:{bad.url}#judge"
        limit = args.prompts * (args.max_retries + 1)
        for name, critic in (("llm", f"llm:{judge_bad}"), ("ensemble", f"ensemble:majority:rule,llm:{judge_bad}")):
            bad.reset()
            rc, wall = seval_run(tgt, critic, bench, Path(tmp) / f"bad-{name}", "--max-retries",
                                 str(args.max_retries), "--max-wait", str(args.max_wait))
            n = chat_requests(bad)
            print(f"always-500 judge ({name}): {n} judge calls for {args.prompts} prompts with --max-retries "
                  f"{args.max_retries} (goal <= {limit}); exit {rc}; {wall:.1f}s")
        target.reset()
        judge_good = f"openai-compatible:{good.url}#judge"
        rc, wall = seval_run(tgt, f"ensemble:majority:rule,llm:{judge_good}", bench, Path(tmp) / "budget",
                             "--max-requests", str(args.max_requests))
        t, j = chat_requests(target), chat_requests(good)
        counted = t + j <= args.max_requests
        print(f"--max-requests {args.max_requests} with an ensemble LLM judge: target {t} + judge {j} = {t + j} "
              f"requests; exit {rc}; judge calls {'count' if counted else 'do NOT count'} toward --max-requests")


if __name__ == "__main__":
    main()
