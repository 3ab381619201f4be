"""Throughput of the embedded risk tagger: new prompts/s (encoder call) and cached prompts/s (no encoder call).

    python bench/bench_tagger.py [--n 400] [--batch 64] [--threads 2]

Prompts are the starter benchmark's (zh + en, realistic lengths), made unique with a numbered suffix and
repeated to --n. The encoder cache is a fresh temporary folder: the first pass encodes every prompt (new), the
second reads them all from the cache (cached). Load time is reported separately.
"""

from __future__ import annotations

import argparse
import itertools
import os
import tempfile
import time
from importlib import resources


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=400)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2, help="BLAS/OpenMP threads (the target machine has 2 cores)")
    args = ap.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(args.threads))
    tmp = tempfile.TemporaryDirectory()
    os.environ["SEVAL_CACHE_DIR"] = tmp.name  # a fresh cache: nothing of the user's is read or written

    from seval.io import read_cases, starter_path
    from seval.tagger.embedded import WEIGHTS_FILE, WEIGHTS_PACKAGE, load_model, tag_texts

    t0 = time.perf_counter()
    load_model()
    tag_texts(["warm-up prompt"])
    load_s = time.perf_counter() - t0
    base = [c.prompt for c in read_cases(starter_path())]
    prompts = [f"{p} ({i})" for i, p in enumerate(itertools.islice(itertools.cycle(base), args.n))]
    from seval.text.encoders import get_encoder, shared_cache

    enc = get_encoder(load_model().encoder)
    rates, calls = [], []
    for _ in ("new", "cached"):
        before = enc.encoded
        t0 = time.perf_counter()
        for i in range(0, len(prompts), args.batch):
            tag_texts(prompts[i:i + args.batch])
        rates.append(len(prompts) / (time.perf_counter() - t0))
        calls.append(enc.encoded - before)
    size = resources.files(WEIGHTS_PACKAGE).joinpath(WEIGHTS_FILE).read_bytes()
    cache = shared_cache()
    per = cache.stats()["bytes"] / args.n if cache else 0.0  # the SQLite file and its write-ahead log
    print(f"embedded tagger ({args.n} prompts, batch {args.batch}, {args.threads} threads): new {rates[0]:.0f} "
          f"prompts/s ({calls[0]} texts encoded), cached {rates[1]:.0f} prompts/s ({calls[1]} encoded); "
          f"load {load_s:.2f} s; weights {len(size) / 1e3:.0f} kB; "
          f"cache {per:.0f} bytes/prompt")
    print("load average (1, 5, 15 min):", " ".join(f"{x:.2f}" for x in os.getloadavg()))
    tmp.cleanup()


if __name__ == "__main__":
    main()
