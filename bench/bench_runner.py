"""Runner at scale, against the fault-injection server, through the real `seval.api` path (run store and the
rule critic in the loop). Each measurement runs in a fresh child process (so peak RSS is that run's own) and
the server runs in another process (so its CPU is not counted as the harness's).

    python bench/bench_runner.py                 # scenarios a, b, c, 3 repeats each
    python bench/bench_runner.py --scenario mem  # 220,000 prompts, ~0 latency: peak RSS
    python bench/bench_runner.py --scenario a --repeat 1
    python bench/bench_runner.py --scenario a --critics none,rule,embedded   # the critic's cost, as ratios

Scenarios (issue 7):
  a  2,000 prompts, concurrency 64, 200 ms latency        ideal 6.25 s; target <= 1.15x, <= 1.5 ms CPU/request
  b  as a, with 10% 429 (Retry-After: 1) and 5% 500        target <= 2.0x, zero lost items; final states
  c  10,000 prompts, concurrency 128, 200 ms latency       ratio to ideal and peak memory
  mem 220,000 prompts, concurrency 64, no latency           peak RSS (target < 500 MB)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SCENARIOS: dict[str, dict[str, Any]] = {
    "a": {"n": 2000, "concurrency": 64, "server": {"latency": 0.2}},
    "b": {"n": 2000, "concurrency": 64, "server": {"latency": 0.2, "p429": 0.10, "retry_after": 1, "p500": 0.05}},
    "c": {"n": 10000, "concurrency": 128, "server": {"latency": 0.2}},
    "mem": {"n": 220000, "concurrency": 64, "server": {"latency": 0.0}},
}


def make_bench(path: Path, n: int) -> None:
    """n distinct prompts: the starter benchmark's prompts, each made unique with a counter."""
    from seval.io import starter_path

    rows = [json.loads(line) for line in starter_path().read_text("utf-8").splitlines() if line.strip()]
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            r = dict(rows[i % len(rows)])
            r["id"] = f"b{i:07d}"
            r["prompt"] = f"{r['prompt']} (#{i})"
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")


def one(url: str, bench: Path, n: int, concurrency: int, out: Path, critic: str = "rule") -> dict[str, Any]:
    """Child process: one run through seval.api; wall time, CPU time and peak RSS of this process."""
    from seval.api import run_benchmark

    c0 = time.process_time()
    t0 = time.perf_counter()
    result = run_benchmark(target=f"openai-compatible:{url}#fault", bench=str(bench), critic=critic, out=str(out),
                           concurrency=concurrency, progress=False, price_in=0.15, price_out=0.60)
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    stats = result.stats
    with open(result.results_path, encoding="utf-8") as fh:
        rows = sum(1 for _ in fh)
    return {"wall_s": wall, "cpu_s": cpu, "executor_wall_s": stats["wall_s"],
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "states": stats["states"], "errors": stats["errors"], "requests": stats["requests"],
            "retries": stats["retries"], "limit_cuts": stats["limit_cuts"], "min_limit": stats["min_limit"],
            "cost_usd": stats["cost_usd"], "tokens": stats["tokens"], "rows": rows, "complete": result.complete}


def measure(name: str, repeat: int, critic: str = "rule") -> dict[str, Any]:
    from seval.runner.faultserver import SpawnedServer

    sc = SCENARIOS[name]
    n, conc = sc["n"], sc["concurrency"]
    latency = sc["server"]["latency"]
    ideal = n * latency / conc
    runs = []
    with tempfile.TemporaryDirectory(prefix="seval-bench-") as tmp:
        bench = Path(tmp) / "bench.jsonl"
        make_bench(bench, n)
        for i in range(repeat):
            with SpawnedServer(**sc["server"], seed=i) as srv:
                out = Path(tmp) / f"run{i}"
                proc = subprocess.run([sys.executable, __file__, "--child", srv.url, str(bench), str(n), str(conc),
                                       str(out), critic], capture_output=True, text=True, check=False)
                if proc.returncode != 0:
                    raise SystemExit(f"child failed:\n{proc.stderr[-3000:]}")
                r = json.loads(proc.stdout.strip().splitlines()[-1])
                r["server"] = srv.stats()
            r["ratio"] = r["wall_s"] / ideal if ideal else None
            r["cpu_ms_per_request"] = 1000 * r["cpu_s"] / n
            r["lost"] = n - sum(v for k, v in r["states"].items() if k != "not_run")
            runs.append(r)
            print(f"  [{name} critic={critic} #{i + 1}] wall {r['wall_s']:.2f}s (executor {r['executor_wall_s']:.2f}s)"
                  + (f" = {r['ratio']:.3f}x ideal {ideal:.2f}s" if ideal else "")
                  + f", CPU {r['cpu_ms_per_request']:.3f} ms/request, peak RSS {r['peak_rss_mb']:.0f} MB, "
                  f"states {r['states']}, lost {r['lost']}, requests {r['requests']} (retries {r['retries']}, "
                  f"limit cuts {r['limit_cuts']}, min limit {r['min_limit']}), server {r['server']['outcomes']}",
                  flush=True)

    def agg(key: str) -> dict[str, float]:
        vals = [r[key] for r in runs if r[key] is not None]
        return {"best": min(vals), "median": statistics.median(vals)} if vals else {}

    return {"scenario": name, "critic": critic, "n": n, "concurrency": conc, "latency_s": latency, "ideal_s": ideal,
            "wall_s": agg("wall_s"), "ratio": agg("ratio"), "cpu_ms_per_request": agg("cpu_ms_per_request"),
            "peak_rss_mb": agg("peak_rss_mb"), "lost": max(r["lost"] for r in runs), "runs": runs}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        url, bench, n, conc, out = sys.argv[2:7]
        critic = sys.argv[7] if len(sys.argv) > 7 else "rule"
        print(json.dumps(one(url, Path(bench), int(n), int(conc), Path(out), critic)))
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", action="append", choices=sorted(SCENARIOS), help="default: a, b, c")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--critics", default=None,
                    help="comma-separated critics to compare on each scenario (none, rule, embedded, ...); prints "
                         "each one's ratio to ideal and to the run with no critic")
    args = ap.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}", flush=True)
    results = []
    critics = [c.strip() for c in (args.critics or "").split(",") if c.strip()]
    if critics:
        for name in args.scenario or ["a"]:
            by: dict[str, dict[str, Any]] = {}
            for critic in critics:
                print(f"scenario {name} critic {critic}: {SCENARIOS[name]}", flush=True)
                by[critic] = measure(name, args.repeat, critic)
                results.append(by[critic])
            base = by.get("none")
            for critic, res in by.items():
                vs = (f", {res['wall_s']['median'] / base['wall_s']['median']:.3f}x the run with no critic"
                      if base and critic != "none" else "")
                print(f"scenario {name} critic {critic}: wall median {res['wall_s']['median']:.2f}s, "
                      f"{res['ratio']['median']:.3f}x ideal {res['ideal_s']:.2f}s (best {res['ratio']['best']:.3f})"
                      f"{vs}", flush=True)
        if args.json:
            args.json.write_text(json.dumps(results, indent=2))
        return
    for name in args.scenario or ["a", "b", "c"]:
        print(f"scenario {name}: {SCENARIOS[name]}", flush=True)
        res = measure(name, args.repeat if name != "mem" else 1)
        results.append(res)
        print(f"scenario {name}: ratio best {res['ratio'].get('best', 0):.3f} median "
              f"{res['ratio'].get('median', 0):.3f}; CPU ms/request best {res['cpu_ms_per_request']['best']:.3f} "
              f"median {res['cpu_ms_per_request']['median']:.3f}; peak RSS max "
              f"{max(r['peak_rss_mb'] for r in res['runs']):.0f} MB; lost {res['lost']}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
