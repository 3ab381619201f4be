"""Scale check for `seval report`: build the HTML report over 200,000 synthetic verdicts; print time and size.

    python bench/bench_report.py [--rows 200000] [--models 4] [--response-chars 1500] [--keep DIR]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from seval.report import build_report
from seval.report.synthetic import ATTACKS, synthetic_rows, write_run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=200_000, help="total result rows (verdicts) over all models")
    ap.add_argument("--models", type=int, default=4)
    ap.add_argument("--response-chars", type=int, default=0,
                    help="pad every response to about this many characters (real answers are long)")
    ap.add_argument("--keep", type=Path, default=None, help="write runs and reports here and keep them")
    args = ap.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="seval-bench-report-"))
    per_model = args.rows // args.models
    n_base = max(1, -(-per_model // (1 + len(ATTACKS))))  # round up: at least --rows verdicts
    t0 = time.perf_counter()
    dirs = []
    for m in range(args.models):
        name = f"synthetic-model-{m}"
        rows = synthetic_rows(name, n_base, p_unsafe=0.1 + 0.1 * m, seed=m)
        if args.response_chars:
            pad = " [filler text of a long synthetic answer]" * (args.response_chars // 41 + 1)
            for r in rows:
                if r["response"]:
                    r["response"] = (r["response"] + pad)[: args.response_chars]
        dirs.append(write_run(work / name, rows, name, bench="bench-200k.jsonl"))
    total = n_base * (1 + len(ATTACKS)) * args.models
    print(f"wrote {args.models} runs, {total} rows in {time.perf_counter() - t0:.1f} s ({work})")
    try:
        for fmt in ("html", "json"):
            out = work / f"report.{fmt}"
            t = time.perf_counter()
            _, _ctx = build_report(dirs, out=out, fmt=fmt)
            dt = time.perf_counter() - t
            print(f"{fmt}: {total} verdicts -> {out.stat().st_size / 1e6:.2f} MB in {dt:.1f} s"
                  + (" (limit 60 s)" if fmt == "html" else ""))
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
