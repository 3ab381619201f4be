"""Generated tokens per second of the embedded SmolLM2 under each in-process backend: llama.cpp (batched parallel
sequences) and transformers (`hf:`) in fp32 and bf16, at several batch sizes, on starter prompts (zh and en
alternating), greedy, with the model loaded and warmed up first (load time printed on its own).

    python bench/bench_backends.py                                    # llama.cpp 16; hf fp32/bf16 at 1, 16, 32
    python bench/bench_backends.py --backend hf:float32 --batch 16 --n 32

Each line carries the 1-minute load average before and after it (the machine may be shared).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import time
from typing import Any

DEFAULT_BACKENDS = ["llama-cpp", "hf:float32", "hf:bfloat16"]


def prompts(n: int) -> list[list[dict[str, str]]]:
    from seval.io import read_cases, starter_path

    zh = [c.prompt for c in read_cases(starter_path(), lang="zh")]
    en = [c.prompt for c in read_cases(starter_path(), lang="en")]
    mixed = [p for pair in zip(en, zh, strict=False) for p in pair]
    return [[{"role": "user", "content": p}] for p in mixed[:n]]


def build(backend: str, batch: int) -> Any:
    from seval.models.base import resolve_model

    if backend == "llama-cpp":
        return resolve_model("local:smollm2", backend="llama-cpp", batch_size=batch)
    dtype = backend.partition(":")[2] or "auto"
    return resolve_model("local:smollm2", backend="hf", batch_size=batch, dtype=dtype)


async def measure(backend: str, batch: int, n: int, max_tokens: int) -> dict[str, Any]:
    from seval.records import Completion, GenParams

    model = build(backend, batch)
    params = GenParams(max_tokens=max_tokens, temperature=0.0)
    msgs = prompts(n)
    t0 = time.perf_counter()
    await model.generate_many(msgs[:1], GenParams(max_tokens=2))  # load and warm up
    load_s = time.perf_counter() - t0
    l0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    tokens = 0
    for i in range(0, len(msgs), batch):
        group = msgs[i:i + batch]
        out = await (model.generate_many(group, params) if batch > 1 else model.generate(group[0], params))
        for c in out if isinstance(out, list) else [out]:
            tokens += c.usage.completion_tokens if isinstance(c, Completion) else 0
    wall = time.perf_counter() - t0
    info = getattr(model, "loaded", {})
    await model.aclose()
    return {"backend": backend, "dtype": info.get("dtype", "q4_1 (llama.cpp)"), "batch": batch, "prompts": n,
            "max_tokens": max_tokens, "tokens": tokens, "wall_s": round(wall, 1),
            "tokens_per_s": round(tokens / wall, 1), "load_s": round(load_s, 1), "load_before": round(l0, 1),
            "load_after": round(os.getloadavg()[0], 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", action="append", help=f"default: {', '.join(DEFAULT_BACKENDS)}")
    ap.add_argument("--batch", type=int, action="append", help="hf batch sizes (default 1, 16, 32)")
    ap.add_argument("--n", type=int, default=32, help="prompts per measurement (batch 1: min(n, 8))")
    ap.add_argument("--max-tokens", type=int, default=64)
    args = ap.parse_args()
    for backend in args.backend or DEFAULT_BACKENDS:
        if backend == "llama-cpp" and importlib.util.find_spec("llama_cpp") is None:
            print(json.dumps({"backend": backend, "skipped": "llama-cpp-python not installed"}))
            continue
        sizes = args.batch or [1, 16, 32]
        for b in sizes:
            n = min(args.n, 8) if b == 1 else args.n
            print(json.dumps(asyncio.run(measure(backend, b, n, args.max_tokens))), flush=True)


if __name__ == "__main__":
    main()
