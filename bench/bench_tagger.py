"""Throughput of the embedded risk tagger in prompts per second, and the size of its weights.

    python bench/bench_tagger.py [--n 2000] [--batch 256] [--threads 2]

Prompts are the starter benchmark's (zh + en, realistic lengths), repeated to --n. Load time is reported
separately; the figure is prompts/s over the tagging calls alone.
"""

from __future__ import annotations

import argparse
import itertools
import os
import time
from importlib import resources


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2, help="BLAS/OpenMP threads (the target machine has 2 cores)")
    args = ap.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(args.threads))

    from seval.io import read_cases, starter_path
    from seval.tagger.embedded import WEIGHTS_FILE, WEIGHTS_PACKAGE, load_model, tag_texts

    t0 = time.perf_counter()
    load_model()
    load_s = time.perf_counter() - t0
    base = [c.prompt for c in read_cases(starter_path())]
    prompts = list(itertools.islice(itertools.cycle(base), args.n))
    tag_texts(prompts[:32])  # warm-up
    t0 = time.perf_counter()
    for i in range(0, len(prompts), args.batch):
        tag_texts(prompts[i:i + args.batch])
    dt = time.perf_counter() - t0
    size = resources.files(WEIGHTS_PACKAGE).joinpath(WEIGHTS_FILE).read_bytes()
    print(f"embedded tagger: {len(prompts) / dt:.0f} prompts/s ({len(prompts)} prompts, batch {args.batch}, "
          f"{args.threads} threads); load {load_s:.2f} s; weights {len(size) / 1e6:.2f} MB")
    t0 = time.perf_counter()
    for p in prompts[:200]:
        tag_texts([p])
    print(f"one prompt per call: {200 / (time.perf_counter() - t0):.0f} prompts/s")


if __name__ == "__main__":
    main()
