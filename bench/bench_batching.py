"""Batching for in-process models: the embedded SmolLM2 (llama.cpp) answering N prompts one at a time
versus in groups decoded as parallel sequences, through the real `seval.api` path (run store, rule critic).

    python bench/bench_batching.py                    # 32 prompts, 64 tokens, batch sizes 1, 4, 8
    python bench/bench_batching.py --n 64 --batch 1 --batch 16 --threads 2

Prints wall time, generated tokens per second, the speed-up over batch size 1, and how many answers match
the one-at-a-time answers (greedy decoding; float summation order can flip a near-tie late in an answer).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any


def make_bench(path: Path, n: int, lang: str | None) -> None:
    from seval.io import read_cases, starter_path

    with open(path, "w", encoding="utf-8") as fh:
        for i, c in enumerate(read_cases(starter_path(), lang=lang)):
            if i >= n:
                break
            fh.write(json.dumps({"id": c.id, "prompt": c.prompt, "lang": c.lang, "category": c.category,
                                 "risk": c.risk}, ensure_ascii=False) + "\n")


def run(bench: Path, out: Path, batch: int, threads: int, max_tokens: int) -> dict[str, Any]:
    from seval.api import run_benchmark
    from seval.records import GenParams

    t0 = time.perf_counter()
    res = run_benchmark("local:smollm2", bench=str(bench), critic="rule", out=str(out), progress=False,
                        params=GenParams(max_tokens=max_tokens, temperature=0.0),
                        model_options={"batch_size": batch, "n_threads": threads})
    wall = time.perf_counter() - t0
    answers = {r.id: r.response or "" for r in res.iter_rows()}
    return {"wall_s": wall, "completion_tokens": res.stats["completion_tokens"],
            "tok_per_s": res.stats["completion_tokens"] / wall, "answers": answers, "states": res.stats["states"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=32)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--batch", type=int, action="append", help="batch sizes (default 1, 4, 8)")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--lang", default="en")
    args = ap.parse_args()
    sizes = args.batch or [1, 4, 8]
    print(f"{args.n} prompts ({args.lang}), max_tokens {args.max_tokens}, {args.threads} threads, "
          f"load {os.getloadavg()[0]:.1f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="seval-batch-") as tmp:
        bench = Path(tmp) / "bench.jsonl"
        make_bench(bench, args.n, args.lang)
        base: dict[str, str] | None = None
        base_wall = None
        for b in sizes:
            runs = [run(bench, Path(tmp) / f"b{b}r{i}", b, args.threads, args.max_tokens) for i in range(args.repeat)]
            walls = [r["wall_s"] for r in runs]
            best = min(runs, key=lambda r: r["wall_s"])
            if base is None:
                base, base_wall = best["answers"], best["wall_s"]
            same = sum(base.get(k, "")[:40] == v[:40] for k, v in best["answers"].items())
            print(f"batch {b:>2}: wall best {min(walls):.2f}s median {statistics.median(walls):.2f}s, "
                  f"{best['tok_per_s']:.1f} generated tok/s, speed-up x{base_wall / best['wall_s']:.2f}, "
                  f"answers matching batch {sizes[0]} (first 40 chars): {same}/{len(best['answers'])}, "
                  f"states {best['states']}", flush=True)


if __name__ == "__main__":
    main()
