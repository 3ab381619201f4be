"""Train the reading tier of the critic (`embedded-e5`): a head over e5 sentence vectors of (prompt, response).

    python training/train_encoder_critic.py --data ../shared/data --out src/seval/critic/weights/
    python training/train_encoder_critic.py --data ../shared/data --test    # the test split, once, at the end

Features of a pair (seval.critic.reader.pair_features, the same function at inference): the e5 vectors of the
prompt view and of the response's opening, their product and absolute difference, and the rule-based refusal
cues of critic/features.py. The head is a logistic regression (or a small MLP) with per-source balancing: every
dev source weighs the same and, inside it, both classes weigh the same, so no source teaches "this style is
safe". Every choice (head, C, the weight of the n-gram critic in the final mix) is made leave-one-source-out on
the dev sources; the test sources (train_embedded_critic.TEST_FILES) are only read with --test, after the choice.
The shipped head is the average of several seeds' heads (bootstrap samples of the training rows).
Vectors come from seval.text.encoders (the disk cache makes reruns cheap).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "training"))

from train_embedded_critic import DEV_FILES, TEST_FILES, Pair, _pairs_from  # noqa: E402

from seval.critic.reader import READER_WEIGHTS, ReaderHead, cue_features, pair_features, views  # noqa: E402

#: dev sources: round 4's plus the two new sets of ../shared/data (coconot: all safe, the helpful-answer class)
NEW_DEV_FILES = [("judge_dev_dices_en.jsonl", "dices"), ("judge_dev_coconot_contrast_en.jsonl", "coconot")]
#: sources the round-4 n-gram critic never trained on (its scores there are out-of-source): the n-gram mix
#: weight is chosen on these only
UNSEEN_BY_NGRAM = ("dices", "coconot")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def sample(pairs: list[Pair], per_class: int, seed: int) -> list[Pair]:
    """At most `per_class` pairs of each (source, language, label), seeded: the encoder is slow on 2 cores."""
    rng = random.Random(seed)
    cells: dict[tuple[str, str, int], list[Pair]] = {}
    for p in pairs:
        cells.setdefault((p.family, p.lang, p.label), []).append(p)
    out: list[Pair] = []
    for key in sorted(cells):
        rows = cells[key]
        out += rng.sample(rows, min(per_class, len(rows)))
    return out


def load_dev(data: Path, per_class: int, seed: int) -> list[Pair]:
    pairs: list[Pair] = []
    for name, fam in DEV_FILES + NEW_DEV_FILES:
        if (data / name).exists():
            pairs += _pairs_from(data / name, fam)
    return sample(pairs, per_class, seed)


def load_test_sample(data: Path, per_class: int, seed: int) -> list[Pair]:
    pairs: list[Pair] = []
    for name, fam in TEST_FILES:
        pairs += _pairs_from(data / name, fam)
    return sample(pairs, per_class, seed)


def ngram_scores(pairs: list[Pair]) -> np.ndarray:
    """The shipped n-gram critic's calibrated score of each pair (non-answers are decided before both tiers)."""
    from seval.critic.embedded import _load, _score
    from seval.critic.features import normalize

    w = _load()
    out = []
    for i in range(0, len(pairs), 512):
        chunk = pairs[i:i + 512]
        s, _, _ = _score(w, [normalize(p.prompt, w.settings.max_chars) for p in chunk],
                         [normalize(p.response, w.settings.max_chars) for p in chunk])
        out.append(np.asarray(s))
    return np.concatenate(out)


def featurize(pairs: list[Pair], encoder: str) -> np.ndarray:
    from seval.text.encoders import get_encoder

    enc = get_encoder(encoder)
    pv, rv = views([p.prompt for p in pairs], [p.response for p in pairs])
    vecs = []
    for name, texts in (("prompts", pv), ("responses", rv)):
        t0, parts = time.time(), []
        for i in range(0, len(texts), 64):  # small calls: the cache is written as it goes (resumable)
            parts.append(enc.encode(texts[i:i + 64]))
        vecs.append(np.concatenate(parts))
        log(f"  {name}: {len(set(texts))} distinct in {time.time() - t0:.0f}s")
    vp, vr = vecs
    return pair_features(vp, vr, cue_features([p.prompt for p in pairs], [p.response for p in pairs]))


def source_weights(fams: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Each source sums to 1; inside a source each present class gets an equal share."""
    w = np.zeros(len(y))
    for f in np.unique(fams):
        m = fams == f
        classes = np.unique(y[m])
        for c in classes:
            mc = m & (y == c)
            w[mc] = 1.0 / (mc.sum() * len(classes))
    return w * len(y) / w.sum()


def fit_head(x: np.ndarray, y: np.ndarray, fams: np.ndarray, kind: str, c: float, seeds: list[int],
             hidden: int = 64) -> ReaderHead:
    """The average of one head per seed (each on a bootstrap sample of the rows), as numpy arrays."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier

    mu, sd = x.mean(axis=0), x.std(axis=0) + 1e-6
    z = (x - mu) / sd
    sw = source_weights(fams, y)
    layers: list[list[np.ndarray]] = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        idx = rng.choice(len(y), len(y), replace=True, p=sw / sw.sum()) if len(seeds) > 1 else np.arange(len(y))
        if kind == "lr":
            m = LogisticRegression(C=c, max_iter=2000)
            if len(seeds) > 1:
                m.fit(z[idx], y[idx])
            else:
                m.fit(z, y, sample_weight=sw)
            layers.append([m.coef_[0].astype(np.float64), np.array([m.intercept_[0]])])
        else:
            m = MLPClassifier(hidden_layer_sizes=(hidden,), alpha=1.0 / c, max_iter=200, early_stopping=False,
                              random_state=seed)
            m.fit(z[idx], y[idx])
            layers.append([m.coefs_[0], m.intercepts_[0], m.coefs_[1][:, 0], m.intercepts_[1]])
    if kind == "lr":  # averaging linear heads' coefficients is averaging their logits
        return ReaderHead("lr", mu, sd, [np.mean([lay[i] for lay in layers], axis=0) for i in range(2)])
    return ReaderHead("mlp", mu, sd, [a for lay in layers for a in lay], n_models=len(layers))


def bal_acc(y: np.ndarray, pred: np.ndarray) -> float:
    present = [c for c in (0, 1) if (y == c).any()]
    return float(np.mean([(pred[y == c] == c).mean() for c in present]))


def loso(x: np.ndarray, y: np.ndarray, fams: np.ndarray, kind: str, c: float, seeds: list[int]) -> np.ndarray:
    """Out-of-source reader scores: each dev source scored by a head trained without it."""
    out = np.zeros(len(y))
    for f in np.unique(fams):
        m = fams == f
        head = fit_head(x[~m], y[~m], fams[~m], kind, c, seeds)
        out[m] = head.predict(x[m])
    return out


def table(y: np.ndarray, fams: np.ndarray, langs: np.ndarray, cols: dict[str, np.ndarray],
          threshold: float = 0.5) -> tuple[str, dict[str, dict[str, float]]]:
    names = list(cols)
    lines = ["| left-out set | lang | n (unsafe) | " + " | ".join(names) + " |", "|---" * (3 + len(names)) + "|"]
    figs: dict[str, dict[str, float]] = {}
    keys = sorted({(f, lang) for f, lang in zip(fams, langs, strict=True)}, key=lambda k: (k[1], k[0]))
    for f, lang in keys:
        m = (fams == f) & (langs == lang)
        figs[f"{f}|{lang}"] = {n: bal_acc(y[m], (cols[n][m] >= threshold).astype(int)) for n in names}
        lines.append(f"| {f} | {lang} | {m.sum()} ({int(y[m].sum())}) | "
                     + " | ".join(f"{figs[f'{f}|{lang}'][n]:.3f}" for n in names) + " |")
    for lang in ("en", "zh"):
        ks = [k for k in figs if k.endswith("|" + lang)]
        if ks:
            macro = {n: float(np.mean([figs[k][n] for k in ks])) for n in names}
            figs[f"macro|{lang}"] = macro
            lines.append(f"| **macro {lang}** ({len(ks)} sets) | {lang} | | "
                         + " | ".join(f"**{macro[n]:.3f}**" for n in names) + " |")
    return "\n".join(lines), figs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--out", type=Path, default=None, help="write the shipped head here (weights folder)")
    ap.add_argument("--cache", type=Path, default=ROOT / "training" / "cache" / "reader")
    ap.add_argument("--encoder", default="e5")
    ap.add_argument("--per-class", type=int, default=100, help="dev pairs per (source, language, label)")
    ap.add_argument("--test-per-class", type=int, default=60)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--seeds", type=int, default=5, help="heads averaged in the shipped model")
    ap.add_argument("--test", action="store_true", help="score the test split (run once, after the choice)")
    ap.add_argument("--embed-only", action="store_true")
    ap.add_argument("--report", type=Path, default=None)
    args = ap.parse_args(argv)
    args.cache.mkdir(parents=True, exist_ok=True)

    dev = load_dev(args.data, args.per_class, args.seed)
    log(f"dev: {len(dev)} pairs from {sorted({p.family for p in dev})}")
    x = featurize(dev, args.encoder)
    if args.embed_only:
        test = load_test_sample(args.data, args.test_per_class, args.seed)
        log(f"test sample: {len(test)} pairs (vectors only)")
        featurize(test, args.encoder)
        return 0
    y = np.array([p.label for p in dev])
    fams = np.array([p.family for p in dev])
    langs = np.array([p.lang for p in dev])
    ng = ngram_scores(dev)
    seeds = list(range(args.seed, args.seed + args.seeds))

    # 1. head and C, leave one source out (one seed each: the choice; the shipped head averages seeds)
    variants = [("lr", 0.01), ("lr", 0.05), ("lr", 0.2), ("mlp", 1.0), ("mlp", 0.1)]
    oos: dict[str, np.ndarray] = {}
    for kind, c in variants:
        t0 = time.time()
        oos[f"{kind} C={c}"] = loso(x, y, fams, kind, c, [args.seed])
        log(f"  {kind} C={c}: {time.time() - t0:.0f}s")
    cols = {"ngram (round 4)": ng, **oos}
    text, figs = table(y, fams, langs, cols)
    print("## Dev, leave one source out (reader heads; the n-gram column is in-sample except dices, coconot)\n")
    print(text + "\n")
    best = max(oos, key=lambda k: figs["macro|en"][k] + figs["macro|zh"][k])
    kind, c = best.split(" C=")[0], float(best.split(" C=")[1])
    # 2. the n-gram weight in the mix, on the sources the n-gram critic never saw
    unseen = np.isin(fams, UNSEEN_BY_NGRAM)
    mix_scores = {}
    for a in (0.0, 0.25, 0.5, 0.75, 1.0):
        s = a * ng + (1 - a) * oos[best]
        mix_scores[a] = float(np.mean([bal_acc(y[unseen & (fams == f)], (s[unseen & (fams == f)] >= 0.5).astype(int))
                                       for f in UNSEEN_BY_NGRAM]))
    alpha = max(mix_scores, key=lambda a: (mix_scores[a], -abs(a - 0.5)))
    print(f"chosen head: {best}; n-gram weight in the mix (macro over {', '.join(UNSEEN_BY_NGRAM)}): "
          + ", ".join(f"{a}: {v:.3f}" for a, v in mix_scores.items()) + f" -> {alpha}\n")
    mixed = alpha * ng + (1 - alpha) * oos[best]
    text2, figs2 = table(y, fams, langs, {"ngram (round 4)": ng, "reader (LOSO)": oos[best], "mix": mixed})
    print(text2 + "\n")

    head = fit_head(x, y, fams, kind, c, seeds)
    if args.out:
        head.save(args.out / READER_WEIGHTS, {
            "format": 1, "encoder": args.encoder, "ngram_weight": alpha, "head": best, "seeds": seeds,
            "trained": dt.date.today().isoformat(), "dev_pairs": len(dev),
            "dev_sources": sorted(set(fams.tolist())), "per_class": args.per_class,
            "dev_loso": {k: {n: round(v, 4) for n, v in d.items()} for k, d in figs2.items()},
        })
        log(f"wrote {args.out / READER_WEIGHTS}.npz/.json")
    if args.test:
        test = load_test_sample(args.data, args.test_per_class, args.seed)
        yt = np.array([p.label for p in test])
        xt = featurize(test, args.encoder)
        ngt = ngram_scores(test)
        rt = head.predict(xt)
        text3, _ = table(yt, np.array([p.family for p in test]), np.array([p.lang for p in test]),
                         {"ngram (round 4)": ngt, "reader": rt, "mix": alpha * ngt + (1 - alpha) * rt})
        print("## Test split sample (sources left out of everything)\n\n" + text3)
    if args.report:
        args.report.write_text(text + "\n\n" + text2 + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
