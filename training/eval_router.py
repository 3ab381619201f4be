"""How often the defense applies a prompt's own dimension clauses, per router, on held-out prompts.

    python training/eval_router.py --data ../shared/data [--routers tagger,lexicon] [--sample-out FILE --per-dim 4]

Prompts: MultiJail rows whose category maps to exactly one dimension (training/tagger_category_map.yaml,
`eval`), both languages; MultiJail is never trained on by the shipped tagger. Benign prompts: the defense's own
over-refusal sets (XSTest safe, benign zh). Prints, per router and language, the share of risky prompts whose
clauses include their own dimension, the share that got only the generic fallback, and the share of benign
prompts that got the general principles only. `--sample-out` writes a small per-dimension sample as seval
JSONL (for `seval defend`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "training"))
sys.path.insert(0, str(ROOT / "src"))

import yaml  # noqa: E402
from train_tagger import HERE, load_source  # noqa: E402

from seval.defense.apply import select  # noqa: E402
from seval.defense.constitution import load_constitution  # noqa: E402
from seval.defense.overrefusal import load_benign  # noqa: E402
from seval.defense.router import resolve_router  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--routers", default="tagger,lexicon")
    ap.add_argument("--sample-out", type=Path, default=None)
    ap.add_argument("--per-dim", type=int, default=4)
    args = ap.parse_args()
    cmap = yaml.safe_load((HERE / "tagger_category_map.yaml").read_text("utf-8"))
    rows = [r for r in load_source("multijail", cmap["sources"]["multijail"], args.data, 13) if len(r.gold) == 1]
    benign = load_benign("all")
    con = load_constitution("default")
    scen = con.scenario("general")
    print(f"MultiJail rows with one gold dimension: {len(rows)}; benign prompts: {len(benign)}")
    print("| router | lang | own dimension's clauses | fallback only | nothing specific | benign: general only |")
    print("|---|---|---|---|---|---|")
    per_dim_out: dict[str, dict[str, list[int]]] = {}
    for spec in [s.strip() for s in args.routers.split(",") if s.strip()]:
        router = resolve_router(spec)
        routed = asyncio.run(router.route([r.text for r in rows]))
        sels = [select(con, scen, x) for x in routed]
        b_routed = asyncio.run(router.route([b.prompt for b in benign]))
        b_sels = [select(con, scen, x) for x in b_routed]
        per_dim: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for lang in ("en", "zh"):
            idx = [i for i, r in enumerate(rows) if r.lang == lang]
            own = [rows[i].gold[0] in sels[i].dimensions for i in idx]
            fb = [sels[i].unclassified for i in idx]
            none = [not sels[i].dimensions and not sels[i].unclassified for i in idx]
            for i in idx:
                per_dim[f"{rows[i].gold[0]}-{lang}"][0] += rows[i].gold[0] in sels[i].dimensions
                per_dim[f"{rows[i].gold[0]}-{lang}"][1] += 1
            bidx = [i for i, b in enumerate(benign) if b.lang == lang]
            gen = [b_sels[i].clause_ids == ["general"] for i in bidx]
            print(f"| {spec} | {lang} | {100 * sum(own) / len(own):.0f}% | {100 * sum(fb) / len(fb):.0f}% | "
                  f"{100 * sum(none) / len(none):.0f}% | {100 * sum(gen) / max(1, len(gen)):.0f}% ({len(gen)}) |")
        per_dim_out[spec] = dict(per_dim)
    print("\nOwn dimension's clauses per dimension (right / rows):")
    keys = sorted({k for v in per_dim_out.values() for k in v})
    print("| dimension-lang | " + " | ".join(per_dim_out) + " |\n|---|" + "---|" * len(per_dim_out))
    for k in keys:
        print(f"| {k} | " + " | ".join(f"{v[k][0]}/{v[k][1]}" if k in v else "-" for v in per_dim_out.values()) + " |")
    if args.sample_out:
        rng = random.Random(13)
        by = defaultdict(list)
        for r in rows:
            by[(r.gold[0], r.lang)].append(r)
        with args.sample_out.open("w", encoding="utf-8") as fh:
            for (dim, lang), rs in sorted(by.items()):
                for r in rng.sample(rs, min(args.per_dim, len(rs))):
                    fh.write(json.dumps({"prompt": r.text, "lang": lang, "dimension": dim,
                                         "meta": {"source": "multijail", "category": r.raw_cat}},
                                        ensure_ascii=False) + "\n")
        print(f"sample: {args.sample_out}")


if __name__ == "__main__":
    main()
