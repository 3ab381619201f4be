"""Score the shipped critics once on the fixed test split (whole sources left out of training; REPORT.md).

    python training/evaluate_critic.py --data ../shared/data [--ship] [--report training/test_table.md]
    python training/evaluate_critic.py --per-class 150 --critics embedded,embedded-e5,embedded-fast,rule --ship

Runs the critics (default `embedded`, `embedded-fast`, `rule`) through seval's own code path (non-answers,
calibration, the threshold), per test set and per language (macro mean over the language's sets, 95% bootstrap
intervals). --per-class N scores the same seeded sample of every set for all critics (at most N pairs per set
and label: the e5 tier reads ~10 pairs/s on 2 cores). With --ship, the figures are written into the weights'
JSON (`shipped_validation`), which `Critic.validation()` returns and seval prints next to every score.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "training"))

from train_embedded_critic import TEST_FILES, load_test  # noqa: E402
from train_encoder_critic import sample  # noqa: E402

from seval.critic.base import resolve_critic  # noqa: E402
from seval.records import JudgeItem  # noqa: E402

CRITICS = ("embedded", "embedded-fast", "rule")
SET_NAMES = {"jbb_judge_comparison": "JailbreakBench judge comparison (human)",
             "jbb_artifacts": "JailbreakBench artifacts (LLM judge)", "llm_self_defense": "LLM Self Defense",
             "latent_jailbreak": "latent-jailbreak"}


def bal_acc(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean([(p[y == c] == c).mean() for c in (0, 1)]))


def boot(y: np.ndarray, p: np.ndarray, rng: np.random.Generator, n: int = 1000) -> np.ndarray:
    """Bootstrap balanced accuracies (resampling within each class, so both classes are always present)."""
    i1, i0 = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    r1 = p[rng.choice(i1, (n, len(i1)))].mean(axis=1)
    r0 = 1 - p[rng.choice(i0, (n, len(i0)))].mean(axis=1)
    return (r1 + r0) / 2


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--ship", action="store_true", help="write the figures into the weights' JSON")
    ap.add_argument("--report", type=Path, default=None, help="write the markdown table here")
    ap.add_argument("--json", type=Path, default=None, help="write all figures as JSON here")
    ap.add_argument("--critics", default=",".join(CRITICS), help="comma-separated critic specs")
    ap.add_argument("--per-class", type=int, default=0, help="score a seeded sample: N pairs per set and label")
    ap.add_argument("--seed", type=int, default=13)
    args = ap.parse_args(argv)
    critics = [c.strip() for c in args.critics.split(",") if c.strip()]
    pairs = load_test(args.data)
    if args.per_class:
        pairs = sample(pairs, args.per_class, args.seed)
    sets: dict[tuple[str, str], list[int]] = {}
    for i, p in enumerate(pairs):
        sets.setdefault((p.family, p.lang), []).append(i)
    y = np.array([p.label for p in pairs])
    items = [JudgeItem(prompt=p.prompt, response=p.response, lang=p.lang, id=str(i)) for i, p in enumerate(pairs)]
    figures: dict[str, Any] = {}
    for name in critics:
        critic = resolve_critic(name)
        verdicts = critic.judge_sync(items)
        pred = np.array([int(v.label == "unsafe") for v in verdicts])
        n_non = sum("non_answer" in v.flags for v in verdicts)
        n_unc = sum("uncertain" in v.flags for v in verdicts)
        rng = np.random.default_rng(0)
        per_set, by_lang = {}, {}
        for lang in ("en", "zh"):
            keys = [k for k in sets if k[1] == lang]
            boots = []
            for k in keys:
                idx = np.array(sets[k])
                b = boot(y[idx], pred[idx], rng)
                boots.append(b)
                per_set[f"{k[0]}|{lang}"] = {"balanced_accuracy": round(bal_acc(y[idx], pred[idx]), 4),
                                             "ci95": [round(float(np.percentile(b, 2.5)), 4),
                                                      round(float(np.percentile(b, 97.5)), 4)],
                                             "n": len(idx), "n_unsafe": int(y[idx].sum())}
            macro = np.mean([per_set[f"{k[0]}|{lang}"]["balanced_accuracy"] for k in keys])
            mb = np.mean(boots, axis=0)
            by_lang[lang] = {"balanced_accuracy": round(float(macro), 4),
                             "ci95": [round(float(np.percentile(mb, 2.5)), 4), round(float(np.percentile(mb, 97.5)), 4)],
                             "n": int(sum(len(sets[k]) for k in keys)), "sets": [k[0] for k in keys]}
        figures[name] = {"per_set": per_set, "by_lang": by_lang, "critic_hash": critic.config_hash(),
                         "non_answer": n_non, "uncertain": n_unc}
        print(name, json.dumps(by_lang), f"non_answer {n_non} uncertain {n_unc}", flush=True)
    lines = ["| test set (source left out) | lang | n (unsafe) | " + " | ".join(critics) + " |",
             "|---" * (3 + len(critics)) + "|"]
    for (fam, lang), idx in sorted(sets.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        k = f"{fam}|{lang}"
        cells = [f"{figures[c]['per_set'][k]['balanced_accuracy']:.3f} "
                 f"[{figures[c]['per_set'][k]['ci95'][0]:.2f}, {figures[c]['per_set'][k]['ci95'][1]:.2f}]"
                 for c in critics]
        lines.append(f"| {SET_NAMES.get(fam, fam)} | {lang} | {len(idx)} ({int(y[idx].sum())}) | " + " | ".join(cells)
                     + " |")
    for lang in ("en", "zh"):
        cells = [f"**{figures[c]['by_lang'][lang]['balanced_accuracy']:.3f}** "
                 f"[{figures[c]['by_lang'][lang]['ci95'][0]:.2f}, {figures[c]['by_lang'][lang]['ci95'][1]:.2f}]"
                 for c in critics]
        lines.append(f"| macro, {lang} ({len(figures[critics[0]]['by_lang'][lang]['sets'])} sets) | {lang} | "
                     f"{figures[critics[0]]['by_lang'][lang]['n']} | " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    print(table)
    if args.report:
        args.report.write_text(table + "\n", "utf-8")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1), "utf-8")
    if args.ship:
        from seval.critic.embedded import WEIGHTS
        from seval.critic.reader import READER_WEIGHTS

        what = ("sources left out of training: " + ", ".join(f for f, _ in TEST_FILES)
                + (f" (a seeded sample, at most {args.per_class} pairs per set and label)" if args.per_class else "")
                + " (training/evaluate_critic.py; macro mean of balanced accuracy over each language's sets)")
        files = {**WEIGHTS, "embedded-e5": READER_WEIGHTS}
        for name in (c for c in critics if c in files):
            path = ROOT / "src" / "seval" / "critic" / "weights" / f"{files[name]}.json"
            info = json.loads(path.read_text("utf-8"))
            info["shipped_validation"] = {"date": dt.date.today().isoformat(), "what": what,
                                          "by_lang": figures[name]["by_lang"], "per_set": figures[name]["per_set"]}
            path.write_text(json.dumps(info, ensure_ascii=False, indent=1) + "\n", "utf-8")
        print("wrote shipped_validation into the weights' JSON")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
