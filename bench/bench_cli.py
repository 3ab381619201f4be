"""Measures `seval --help`, `--version` and every `seval <cmd> --help` wall time (target: < 0.5 s each).

    python bench/bench_cli.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    exe = shutil.which("seval")
    base = [exe] if exe else [sys.executable, "-m", "seval.cli"]
    from seval.cli import LAZY_COMMANDS

    cases = [["--help"], ["--version"]] + [[c, "--help"] for c in sorted(LAZY_COMMANDS)]
    worst = 0.0
    print(f"{'command':28} {'median s':>9} {'max s':>7}")
    for argv in cases:
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            proc = subprocess.run(base + argv, capture_output=True)
            times.append(time.perf_counter() - t0)
            if proc.returncode != 0:
                sys.exit(f"seval {' '.join(argv)} failed: {proc.stderr.decode()[:300]}")
        med = statistics.median(times)
        worst = max(worst, med)
        print(f"seval {' '.join(argv):22} {med:9.3f} {max(times):7.3f}")
    print(f"worst median: {worst:.3f} s (target < 0.5 s)")


if __name__ == "__main__":
    main()
