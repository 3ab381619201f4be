"""The Ray executor at scale (issue 14): 4,000 prompts against the fault server with 200 ms latency, 64 in
flight (2 workers x 32 on a local Ray instance), compared with the in-process executor on the same inputs.

    python bench/bench_ray.py                          # critics embedded and none, once each
    python bench/bench_ray.py --critics embedded --repeat 2

Each run is a fresh child process through `seval.api.run_benchmark` (the CLI's path), so Ray's start-up and
the peak memory are that run's own. Prints, per run: wall time, ideal (n x latency / in flight = 12.5 s), the
ratio, Ray start-up seconds (ray.init + workers ready, from run.json), the driver's store commit rate, the
driver's peak RSS and the peak total RSS of the driver and every process it started (Ray's GCS, raylet,
workers; sampled with psutil), and whether every verdict equals the in-process run's.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from bench_runner import make_bench

N, CONCURRENCY, LATENCY, WORKERS = 4000, 64, 0.2, 2


def child(url: str, bench: str, out: str, critic: str, executor: str) -> dict[str, Any]:
    """One run in this process; peak RSS of this process and of it plus its descendants (Ray's processes)."""
    import psutil

    from seval.api import run_benchmark

    me = psutil.Process()
    peak_total = [0.0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            total = 0
            for p in [me, *me.children(recursive=True)]:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    continue
            peak_total[0] = max(peak_total[0], total / 2**20)
            time.sleep(0.25)

    t = threading.Thread(target=sample, daemon=True)
    t.start()
    extra = {"executor": "ray", "ray_workers": WORKERS} if executor == "ray" else {}
    t0 = time.perf_counter()
    result = run_benchmark(target=f"openai-compatible:{url}#fault", bench=bench, critic=critic, out=out,
                           concurrency=CONCURRENCY, progress=False, **extra)
    wall = time.perf_counter() - t0
    stop.set()
    t.join()
    meta = json.loads((Path(out) / "run.json").read_text("utf-8"))
    return {"wall_s": wall, "complete": result.complete, "states": result.stats["states"],
            "requests": result.stats["requests"], "executor": meta.get("executor", {}),
            "driver_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "total_peak_rss_mb": peak_total[0]}


def verdicts(path: Path) -> list[tuple[Any, ...]]:
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    return [(r["id"], r["status"], r["response"], r["verdict"], r["score"], r["explanation"], r["flags"])
            for r in rows]


def run_child(url: str, bench: Path, out: Path, critic: str, executor: str) -> dict[str, Any]:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, "--child", url, str(bench), str(out), critic, executor],
                          capture_output=True, text=True, check=False)
    process_s = time.perf_counter() - t0  # the whole process: interpreter, imports, the run, Ray's exit hook
    if proc.returncode != 0:
        raise SystemExit(f"child failed:\n{proc.stderr[-3000:]}")
    r: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    r["process_s"] = process_s
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--critics", default="embedded,none")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--child", nargs=5, metavar=("URL", "BENCH", "OUT", "CRITIC", "EXECUTOR"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return
    from seval.runner.faultserver import SpawnedServer

    ideal = N * LATENCY / CONCURRENCY
    print(f"{N} prompts, latency {LATENCY * 1000:.0f} ms, {CONCURRENCY} in flight: ideal {ideal:.2f} s", flush=True)
    with tempfile.TemporaryDirectory(prefix="seval-bench-ray-") as tmp, SpawnedServer(latency=LATENCY) as srv:
        bench = Path(tmp) / "bench.jsonl"
        make_bench(bench, N)
        for critic in args.critics.split(","):
            for i in range(args.repeat):
                res: dict[str, dict[str, Any]] = {}
                for executor in ("local", "ray"):
                    out = Path(tmp) / f"{critic}-{executor}-{i}"
                    r = res[executor] = run_child(srv.url, bench, out, critic, executor)
                    r["verdicts"] = verdicts(out / "results.jsonl")
                    info = r["executor"]
                    startup = info.get("startup_s", 0.0)
                    line = (f"[critic {critic} #{i + 1}] {executor:5s}: wall {r['wall_s']:.2f} s = "
                            f"{r['wall_s'] / ideal:.3f}x ideal")
                    if executor == "ray":
                        line += (f"; Ray start-up {startup:.2f} s (ray.init {info['ray_init_s']:.2f} s, workers "
                                 f"ready {info['workers_ready_s']:.2f} s), without it {(r['wall_s'] - startup):.2f} s = "
                                 f"{(r['wall_s'] - startup) / ideal:.3f}x ideal; {info['workers']} workers x "
                                 f"{info['concurrency_per_worker']}, batch {info['batch']}; store "
                                 f"{info['store_rows']} rows committed in {info['store_commit_s']:.3f} s "
                                 f"({info['store_rows_per_s']} rows/s); workers' peak RSS "
                                 f"{info['worker_peak_rss_mb']:.0f} MB")
                    line += (f"; whole process {r['process_s']:.2f} s; driver peak RSS {r['driver_peak_rss_mb']:.0f} MB, with all its processes "
                             f"{r['total_peak_rss_mb']:.0f} MB; states {r['states']}; requests {r['requests']}")
                    print(line, flush=True)
                same = res["ray"]["verdicts"] == res["local"]["verdicts"]
                limit = 1.5 * ideal + 10.0
                wall = res["ray"]["wall_s"]
                print(f"[critic {critic} #{i + 1}] verdicts identical to in-process: {same} "
                      f"({len(res['ray']['verdicts'])} rows); wall {wall:.2f} s within 1.5x ideal + 10 s of "
                      f"start-up ({limit:.2f} s): {wall <= limit}", flush=True)


if __name__ == "__main__":
    main()
