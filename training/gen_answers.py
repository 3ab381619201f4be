"""Generate real answers with the embedded SmolLM2 for critic training; they go to a gitignored cache only.

    OMP_WAIT_POLICY=PASSIVE python training/gen_answers.py --data ../shared/data --budget-s 720

SmolLM2-135M almost never refuses, so its answers to clearly harmful prompts are realistic compliance
(labelled unsafe by the training script, unless they refuse) and its answers to benign prompts are realistic
helpful text (safe). The output, training/cache/smollm2_answers.jsonl, holds model text and is never
committed; `train_embedded_critic.py` uses it when present. Resumable: prompts already in the cache are skipped.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "src"))

CACHE = HERE / "cache" / "smollm2_answers.jsonl"
# xsafety categories whose "unsafe" rows are real harmful requests (not risk-scenario statements)
XS_REQUEST_HARMFUL = {"Unsafe_Instruction_Topic", "Role_Play_Instruction", "Crimes_And_Illegal_Activities"}


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def pick_prompts(data: Path, rng: random.Random) -> list[dict[str, Any]]:
    """~300 clearly harmful prompts (en + zh) and ~150 benign ones, each with its source family."""
    def take(rows: list[dict[str, Any]], n: int, family: str, harmful: bool) -> list[dict[str, Any]]:
        rows = list(rows)
        rng.shuffle(rows)
        return [{"prompt": r["prompt"], "lang": r["lang"], "family": family, "harmful": harmful}
                for r in rows[:n]]

    out: list[dict[str, Any]] = []
    out += take(read_jsonl(data / "prompts_jbb_harmful_behaviors.jsonl"), 40, "jbb", True)
    out += take(read_jsonl(data / "prompts_simplesafetytests.jsonl"), 40, "sst", True)
    mj = read_jsonl(data / "prompts_multijail_en_zh.jsonl")
    out += take([r for r in mj if r["lang"] == "en"], 35, "multijail", True)
    out += take([r for r in mj if r["lang"] == "zh"], 50, "multijail", True)
    jade = read_jsonl(data / "prompts_jade_prompts.jsonl")
    out += take([r for r in jade if r["lang"] == "zh"], 70, "jade", True)
    xs = [r for r in read_jsonl(data / "prompts_xsafety_en_zh.jsonl")
          if r["label"] == "unsafe" and r["category"] in XS_REQUEST_HARMFUL]
    out += take([r for r in xs if r["lang"] == "en"], 30, "xsafety", True)
    out += take([r for r in xs if r["lang"] == "zh"], 35, "xsafety", True)
    out += take([r for r in read_jsonl(data / "prompts_xstest_prompts.jsonl") if r["label"] == "safe"], 60,
                "xstest", False)
    oai = [r for r in read_jsonl(data / "prompts_openai_moderation.jsonl")
           if r["label"] == "safe" and r.get("fully_annotated", True) and len(r["prompt"]) < 400]
    out += take(oai, 25, "oai_mod", False)
    synthetic = yaml.safe_load((HERE / "synthetic.yaml").read_text("utf-8"))
    out += take([{"prompt": p, "lang": "zh"} for p in synthetic["benign"]["zh"]], 40, "authored", False)
    cold = [r for r in read_jsonl(data / "prompts_cold_zh.jsonl") if r["label"] == "safe" and len(r["prompt"]) < 120]
    out += take([{"prompt": f"你怎么看这句话：“{r['prompt']}”", "lang": "zh"} for r in cold], 25, "cold", False)
    rng.shuffle(out)  # a partial run stays balanced over sources
    return out


async def generate(items: list[dict[str, Any]], budget_s: float, batch: int) -> int:
    from seval.models.base import resolve_model
    from seval.records import Completion, GenParams

    model = resolve_model("local:smollm2", n_threads=1)
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    t0, done = time.time(), 0
    try:
        with CACHE.open("a", encoding="utf-8") as f:
            for start in range(0, len(items), batch):
                if time.time() - t0 > budget_s:
                    break
                chunk = items[start:start + batch]
                params = GenParams(max_tokens=80, temperature=0.7, seed=start)
                res = await model.generate_many([[{"role": "user", "content": it["prompt"]}] for it in chunk], params)
                for it, r in zip(chunk, res, strict=True):
                    if isinstance(r, Completion) and r.text.strip():
                        f.write(json.dumps({**it, "response": r.text}, ensure_ascii=False) + "\n")
                        done += 1
                f.flush()
                print(f"{start + len(chunk)}/{len(items)} in {time.time() - t0:.0f}s", flush=True)
    finally:
        await model.aclose()
    return done


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--budget-s", type=float, default=720.0, help="stop starting new batches after this long")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seed", type=int, default=13)
    args = ap.parse_args(argv)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    items = pick_prompts(args.data, random.Random(args.seed))
    seen = {(r["family"], r["prompt"]) for r in read_jsonl(CACHE)} if CACHE.exists() else set()
    todo = [it for it in items if (it["family"], it["prompt"]) not in seen]
    print(f"{len(items)} prompts, {len(todo)} to generate", flush=True)
    n = asyncio.run(generate(todo, args.budget_s, args.batch))
    print(f"wrote {n} answers to {CACHE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
