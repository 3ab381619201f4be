"""Benchmark of the expert testing LLM (M_t) with the embedded model: generation yield per filter and the
duplicate rate found; `--thresholds` re-measures how the selection thresholds were chosen.

    python bench/bench_generate.py                      # 10 risks x zh,en x 5 per risk with SmolLM2 via llama.cpp
    python bench/bench_generate.py --generator openai-compatible:http://127.0.0.1:8000/v1#m --risks 25
    python bench/bench_generate.py --thresholds         # paraphrase vs. distinct similarities, on-topic ranks
    python bench/bench_generate.py --reselect out.json  # selection again on a saved run's raw generations

Without --generator it starts `python -m llama_cpp.server` on the embedded SmolLM2 GGUF (needs seval[local]).

Measured 2026-11-28 (2 shared CPU cores, load ~8; SmolLM2-135M-Instruct Q4_1, seed 0, max_tokens 300,
10 risks from 10 categories over all 8 dimensions x zh,en x 5 per risk, MiniLM for en, char n-grams for zh,
starter set as the existing benchmark, embedded-critic prompt classifier at 0.2), 1,224 s:
    generator: 20 requests, 41 calls (21 retries: 26 rambles, 0 refusals, 0 errors), 5 requests failed after
    3 framings; 100 prompts asked for, 61 received (zh 41, en 20), 39 dropped by the generator
    exact_dedup 61 -> 58 (3 copies of starter few-shot examples)   language 58 -> 57
    quality 57 -> 14 (not a question 35, artefacts 5, length 3)     near_dedup 14 -> 14
    on_topic 14 -> 7                                                 harm 7 -> 6          links 6 -> 6
    kept 6 of 61 generated (10%; 6 of 100 asked for); duplicate rate 4.9% (3 of 61, all against the starter)
An earlier run (same settings, before the quality check was tightened and before the classifier existed)
gave 65 -> 17 kept (26%), duplicate rate 7.7% (1 within-run near-duplicate, 4 against the starter). Read by hand, what the tiny model
gets through is still weak (Chinese word salad that happens to end in a question, vague benign English):
SmolLM2-135M is not a usable generator; use a real model with --generator.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import random
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PARAPHRASES = ROOT / "tests" / "generate" / "data" / "paraphrases.jsonl"


@contextlib.contextmanager
def llama_server() -> Iterator[str]:
    """The embedded SmolLM2 behind llama.cpp's OpenAI-compatible server; yields the model string."""
    import httpx

    from seval.models.local import smollm2_path

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(smollm2_path()),
                             "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        for _ in range(120):
            if proc.poll() is not None:
                raise SystemExit(f"llama.cpp server exited with {proc.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(base + "/models", timeout=2).status_code == 200:
                    break
            time.sleep(0.5)
        yield f"openai-compatible:{base}#smollm2"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def pick_risks(n: int, seed: int) -> list[object]:
    """n leaf risks from n different categories, spread over the dimensions (seeded)."""
    from seval.taxonomy import load_taxonomy

    tax = load_taxonomy()
    rng = random.Random(seed)
    cats = list(tax.categories)
    rng.shuffle(cats)
    by_dim: dict[str, list[object]] = {}
    for c in cats:
        by_dim.setdefault(c.dimension, []).append(c)
    order = [c for group in itertools.zip_longest(*by_dim.values()) for c in group if c is not None]
    return [rng.choice(c.risks) for c in order[:n]]


async def run_yield(generator: str, n_risks: int, langs: list[str], per_risk: int, seed: int, max_tokens: int,
                    embedding: str, translate_from: str | None) -> dict[str, object]:
    from seval.generate.generator import GenerateConfig
    from seval.generate.pipeline import run_generate
    from seval.generate.selection import SelectionConfig
    from seval.generate.templates import starter_cases
    from seval.models.base import resolve_model
    from seval.taxonomy import load_taxonomy

    tax = load_taxonomy()
    risks = pick_risks(n_risks, seed)
    backend = resolve_model(generator, timeout=300.0) if generator.startswith("openai") else resolve_model(generator)
    gcfg = GenerateConfig(per_risk=per_risk, batch_size=5, max_attempts=3, seed=seed, max_tokens=max_tokens,
                          concurrency=1)
    t0 = time.perf_counter()
    try:
        res = await run_generate(backend, tax, risks, langs, gcfg, SelectionConfig(embedding=embedding, seed=seed),
                                 existing=list(starter_cases()), translate_from=translate_from)
    finally:
        await backend.aclose()
    assert res.report is not None
    per_lang = {}
    for lang in langs:
        raw = [c for c in res.raw if c.lang == lang]
        per_lang[lang] = {"generated": len(raw), "kept": sum(c.lang == lang for c in res.kept)}
    return {"generator": generator, "risks": [r.id for r in risks], "langs": langs, "per_risk": per_risk,
            "seconds": round(time.perf_counter() - t0, 1), "generation": res.stats.to_dict(),
            "yield": res.yield_summary(), "per_lang": per_lang, "table": res.report.table(),
            "kept_prompts": [f"[{c.lang} {c.risk}] {c.prompt}" for c in res.kept],
            "raw": [c.to_dict() for c in res.raw],
            "dropped_examples": {s.step: s.examples for s in res.report.steps}}


def _sims(emb: object, key: str, a: list[str], b: list[str], lang: str) -> np.ndarray:
    """Cosines with one method, whatever the language (MiniLM is measured on Chinese too, to show why not)."""
    if key == "minilm":
        return emb.dense(a) @ emb.dense(b).T  # type: ignore[attr-defined]
    return emb.sim_matrices(a, b, lang)["chargram"]  # type: ignore[attr-defined]


def reselect(path: str, embedding: str) -> None:
    """Run selection again on the raw generations saved by an earlier `--json` run (no model calls)."""
    from seval.generate.selection import SelectionConfig, select
    from seval.generate.templates import starter_cases
    from seval.records import TestCase

    raw = [TestCase.from_dict(d) for d in json.loads(Path(path).read_text("utf-8"))["raw"]]
    kept, report = select(raw, list(starter_cases()), SelectionConfig(embedding=embedding))
    print(report.table())
    for c in kept:
        print(f"  kept [{c.lang} {c.risk}] {c.prompt[:150]}")


def thresholds() -> None:
    """How the dedup and on-topic thresholds in data/selection.yaml were measured (starter set)."""
    from seval.generate.embeddings import Embedder
    from seval.generate.templates import starter_cases
    from seval.generate.topic import topic_scores
    from seval.taxonomy import load_taxonomy

    tax = load_taxonomy()
    starter = list(starter_cases())
    pairs = [json.loads(x) for x in PARAPHRASES.read_text("utf-8").splitlines()]
    embedders = {"chargram": Embedder("chargram")}
    auto = Embedder("auto")
    if auto.method == "minilm":
        embedders["minilm"] = auto
    print("near-duplicates: hand-written paraphrases vs. all pairs of distinct starter prompts")
    for lang in ("en", "zh"):
        P = [p for p in pairs if p["lang"] == lang]
        L = [c.prompt for c in starter if c.lang == lang]
        for key, emb in embedders.items():
            pos = np.diag(_sims(emb, key, [p["a"] for p in P], [p["b"] for p in P], lang))
            neg = _sims(emb, key, L, L, lang)[np.triu_indices(len(L), 1)]
            print(f"  {lang} {key:8s} paraphrases min {pos.min():.2f} median {np.median(pos):.2f} | "
                  f"distinct max {neg.max():.2f} p99.9 {np.percentile(neg, 99.9):.2f} ({len(P)} / {len(neg)} pairs)")
    print("on-topic: starter prompts with their own label vs. a label moved to a risk of another dimension")
    rng = random.Random(0)
    for lang in ("en", "zh"):
        L = [c for c in starter if c.lang == lang]
        wrong = []
        for c in L:
            r = rng.choice([r for r in tax.risks if r.dimension != c.dimension])
            wrong.append(replace(c, risk=r.id, category=r.category, dimension=r.dimension))
        for name, emb in embedders.items():
            if name == "minilm" and lang == "zh":
                continue  # Chinese always uses char n-grams
            for label, cases in (("own", L), ("wrong", wrong)):
                ts = topic_scores(cases, tax, emb, lang)
                ranks = np.array([t.cat_rank for t in ts])
                sims = np.array([t.own_sim for t in ts])
                print(f"  {lang} {name:8s} {label:5s} rank<=k share " +
                      " ".join(f"k={k}:{(ranks <= k).mean():.2f}" for k in (3, 5, 8, 10, 12)) +
                      f" | sim p5 {np.percentile(sims, 5):.3f} median {np.median(sims):.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--generator", help="model string (default: embedded SmolLM2 through a llama.cpp server)")
    ap.add_argument("--risks", type=int, default=10)
    ap.add_argument("--lang", default="zh,en")
    ap.add_argument("--per-risk", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-tokens", type=int, default=300)
    ap.add_argument("--embedding", default="auto", choices=["auto", "minilm", "chargram"])
    ap.add_argument("--translate-from", default=None)
    ap.add_argument("--thresholds", action="store_true", help="measure the selection thresholds instead")
    ap.add_argument("--json", help="also write the figures (and the raw generations) to this file")
    ap.add_argument("--reselect", metavar="JSON", help="rerun selection on the raw generations of a --json file")
    args = ap.parse_args()
    if args.thresholds:
        thresholds()
        return
    if args.reselect:
        reselect(args.reselect, args.embedding)
        return
    langs = [x for x in args.lang.split(",") if x]
    with contextlib.ExitStack() as stack:
        gen = args.generator or stack.enter_context(llama_server())
        out = asyncio.run(run_yield(gen, args.risks, langs, args.per_risk, args.seed, args.max_tokens,
                                    args.embedding, args.translate_from))
    g = out["generation"]
    print(f"generator {out['generator']}: {len(out['risks'])} risks x {','.join(langs)} x {args.per_risk}/risk "
          f"in {out['seconds']} s")
    print(f"  calls {g['calls']}, refusals {g['refusals']}, rambles {g['rambles']}, errors {g['errors']}, "
          f"retries {g['retries']}, failed requests {g['failed_jobs']}/{g['jobs']}; prompts requested "
          f"{g['requested']}, received {g['generated']}, dropped by the generator {g['dropped']}")
    print(out["table"])
    print("per language (generated -> kept): " +
          ", ".join(f"{k} {v['generated']} -> {v['kept']}" for k, v in out["per_lang"].items()))
    print("yield:", json.dumps(out["yield"]))
    for kind, items in g["examples"].items():
        print(f"  generator {kind}: {items[0][:110]}")
    for step, ex in out["dropped_examples"].items():
        for reason, items in ex.items():
            print(f"  dropped at {step} ({reason}): {items[0][:110]}")
    print("kept:")
    for p in out["kept_prompts"]:
        print("  " + p[:160])
    if args.json:
        Path(args.json).write_text(json.dumps(out, ensure_ascii=False, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
