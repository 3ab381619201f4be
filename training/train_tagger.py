"""Train the embedded risk tagger and measure it on prompt sources it never saw.

    python training/train_tagger.py --data ../shared/data --out src/seval/tagger/weights/ \
        [--holdout multijail] [--extra DIR] [--report training/TAGGER_REPORT.md]

Training data: the starter benchmark (leaf ids), the team's per-leaf prompts (training/tagger_prompts/*.yaml,
zh + en, plus benign prompts and templates), the leaf names and in-scope texts of the taxonomy (out-of-scope
texts are benign examples), and the prompt sets of ../shared/data mapped by training/tagger_category_map.yaml.
The held-out sources (default: multijail) are removed from training before anything is fitted; the report also
has a stricter run that holds out xsafety as well. Deterministic (seeded).
"""

from __future__ import annotations

import argparse
import ast
import json
import random
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from seval.tagger.base import TagResult  # noqa: E402
from seval.tagger.embedded import EncoderTaggerModel, encode, tag_vectors  # noqa: E402
from seval.tagger.ngram import TaggerModel, feature_settings, featurize, tag_texts  # noqa: E402
from seval.taxonomy import load_taxonomy  # noqa: E402

HERE = Path(__file__).resolve().parent
TAX = load_taxonomy()
DIMS = [d.id for d in TAX.dimensions]
CATS = [c.id for c in TAX.categories]
RISKS = [r.id for r in TAX.risks]
#: weight of hand-written rows (clean labels, every leaf) against the mapped public sets
CLEAN_WEIGHT = 3.0
#: class weighting of the dimension and category heads: "class" or "class_lang" (set by --balance)
BALANCE = "class_lang"


@dataclass(slots=True)
class Row:
    text: str
    lang: str
    source: str
    dim: str | None = None
    cat: str | None = None
    risk: str | None = None
    harm: int | None = None  # 1 risk probe, 0 benign, None unknown
    weight: float = 1.0
    gold: tuple[str, ...] = ()  # eval: the dimensions that count as right
    raw_cat: str = ""


def _label(target: str) -> tuple[str | None, str | None, int | None]:
    """A map target -> (dimension, category, harm)."""
    if target == "benign":
        return None, None, 0
    if target in ("harm", "skip"):
        return None, None, 1
    if target in DIMS:
        return target, None, 1
    if target in CATS:
        return target.split(".", 1)[0], target, 1
    raise SystemExit(f"tagger_category_map.yaml: unknown target {target!r}")


def load_authored() -> list[Row]:
    """Every YAML under training/tagger_prompts (recursively: the per-leaf files and authored_en/, authored_zh/),
    merged by leaf."""
    rows: list[Row] = []
    for f in sorted((HERE / "tagger_prompts").rglob("*.yaml")):
        data = yaml.safe_load(f.read_text("utf-8")) or {}
        for key, per_lang in data.items():
            if key in ("templates", "topics", "howto_templates", "howto_tasks"):
                continue
            for lang in ("en", "zh"):
                for text in (per_lang or {}).get(lang) or []:
                    if key.startswith("benign"):
                        rows.append(Row(text, lang, "authored", harm=0, weight=CLEAN_WEIGHT))
                    else:
                        if key not in RISKS:
                            raise SystemExit(f"{f.name}: unknown leaf risk {key!r}")
                        cat = key.rsplit(".", 1)[0]
                        rows.append(Row(text, lang, "authored", cat.split(".")[0], cat, key, 1, CLEAN_WEIGHT))
        for tkey, fkey in (("templates", "topics"), ("howto_templates", "howto_tasks")):
            if tkey not in data:
                continue
            for lang in ("en", "zh"):
                for tpl in data[tkey][lang]:
                    for t in data[fkey][lang]:
                        rows.append(Row(tpl.format(t=t), lang, "authored_templates", harm=0, weight=0.5))
    return rows


def load_taxonomy_texts() -> list[Row]:
    """Leaf names + in-scope sentences as risk rows, out-of-scope sentences as benign rows."""
    from seval.generate.topic import split_scope

    rows = []
    for r in TAX.risks:
        for lang in ("en", "zh"):
            ins, outs = split_scope(r, lang)
            rows.append(Row(ins, lang, "taxonomy", r.dimension, r.category, r.id, 1, 1.0))
            if outs:
                rows.append(Row(outs, lang, "taxonomy", harm=0, weight=1.0))
    return rows


def load_starter() -> list[Row]:
    from seval.io import read_cases, starter_path

    return [Row(c.prompt, c.lang, "starter", c.dimension, c.category, c.risk, 1, CLEAN_WEIGHT)
            for c in read_cases(starter_path())]


def _map_one(spec: dict[str, Any], cat: str) -> str:
    for key, tgt in (spec.get("map") or {}).items():
        if spec.get("match") == "substring" and key in cat:
            return tgt
        if spec.get("match") == "exact" and key == cat:
            return tgt
    return spec.get("default", "harm")


def _field(row: dict[str, Any], key: str) -> Any:
    """A row's value at a dotted key (`category`, `meta.orig_category`)."""
    val: Any = row
    for part in key.split("."):
        val = val.get(part) if isinstance(val, dict) else None
    return val


def load_source(name: str, spec: dict[str, Any], data: Path, seed: int) -> list[Row]:
    path = data / spec["file"]
    if not path.is_file():
        print(f"  [skip] {name}: {path} not found", file=sys.stderr)
        return []
    raw = [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]
    rows: list[Row] = []
    match = spec.get("match")
    ev = spec.get("eval") or {}
    if match == "label":
        rng = random.Random(seed)
        for lab, tgt in spec["map"].items():
            pool = list({r["prompt"]: r for r in raw if r["label"] == lab}.values())
            rng.shuffle(pool)
            for r in pool[: spec.get("sample", len(pool))]:
                d, c, h = _label(tgt)
                rows.append(Row(r["prompt"], r["lang"], name, d, c, None, h))
        return rows
    if spec.get("where"):  # keep rows whose (meta.)field equals the value, e.g. JailBench's seed questions
        key, val = next(iter(spec["where"].items()))
        raw = [r for r in raw if _field(r, key) == val]
    for r in raw:
        cat = str(_field(r, spec.get("field", "category")) or "").strip()
        if match == "list":
            tags = ast.literal_eval(cat) if cat.startswith("[") else [cat]
            targets = [_map_one({**spec, "match": "exact"}, t) for t in tags]
            labs = {_label(t) for t in targets if t not in ("harm", "skip")}
            d, c, h = labs.pop() if len(labs) == 1 else (None, None, 1)
            gold = tuple(sorted({g for t in tags for g in ev.get(t, [])}))
        elif match == "codes":
            codes = [x.strip() for x in cat.split(",") if x.strip()] or ["None"]
            targets = {_map_one({**spec, "match": "exact"}, x) for x in codes}
            dims = {_label(t)[0] for t in targets}
            if targets == {"benign"}:
                d, c, h = None, None, 0
            elif len(targets) == 1:
                d, c, h = _label(targets.pop())
            elif len(dims - {None}) == 1 and None not in dims:
                d, c, h = dims.pop(), None, 1
            else:
                d, c, h = None, None, 1
            gold = ()
        else:
            tgt = _map_one(spec, cat)
            if tgt == "skip":
                continue
            d, c, h = _label(tgt)
            gold = tuple(ev.get(cat, []))
        if r.get("label") == "safe" and h != 0:
            h = 0 if match != "codes" else h
        rows.append(Row(r["prompt"], r["lang"], name, d, c, None, h, 1.0, gold, cat))
    return rows


def cap_rows(rows: list[Row], cap: int, seed: int) -> list[Row]:
    """At most `cap` rows, a seeded sample stratified by (source category, language) so every cell keeps its
    share; the order of the kept rows is the source's."""
    if len(rows) <= cap:
        return rows
    cells: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        cells[(r.raw_cat, r.lang)].append(i)
    rng = random.Random(seed)
    keep: set[int] = set()
    for ids in cells.values():
        rng.shuffle(ids)
        keep.update(ids[: max(1, round(cap * len(ids) / len(rows)))])
    return [r for i, r in enumerate(rows) if i in keep]


def load_extra(folder: Path, cmap: dict[str, Any], data_seed: int) -> list[Row]:
    """Extra prompt sets (e.g. fetched by another helper) described in `extra:` of the category map."""
    rows: list[Row] = []
    for name, spec in (cmap.get("extra") or {}).items():
        if (folder / spec["file"]).is_file():
            rows += load_source(name, spec, folder, data_seed)
    return rows


# ----------------------------------------------------------------------------------------------- training
def fit_heads(rows: list[Row], settings: Any, c_reg: float, seed: int) -> TaggerModel:
    """Fit the dimension and category heads and the leaf prototypes on `rows`."""
    import scipy.sparse as sp
    from sklearn.linear_model import LogisticRegression

    from seval.critic.features import TextHasher

    hasher = TextHasher(settings)
    x = featurize([r.text for r in rows], settings, hasher)
    n = x.shape[1]
    w = np.zeros((n, len(DIMS) + len(CATS) + 1), dtype=np.float32)
    b = np.zeros(len(DIMS) + len(CATS) + 1, dtype=np.float32)

    def head(labels: list[str | None], classes: list[str], col0: int) -> None:
        idx = [i for i, lab in enumerate(labels) if lab is not None]
        y = np.array([classes.index(labels[i]) for i in idx])  # type: ignore[arg-type]
        sw = np.array([rows[i].weight for i in idx], dtype=np.float64)
        # balance classes (and, with BALANCE == "class_lang", languages): each cell gets the same total weight
        key = (lambda k, i: (y[k], rows[i].lang)) if BALANCE == "class_lang" else (lambda k, i: (y[k], ""))
        cell = Counter(key(k, i) for k, i in enumerate(idx))
        sw *= np.array([len(idx) / (len(cell) * cell[key(k, i)]) for k, i in enumerate(idx)])
        clf = LogisticRegression(C=c_reg, max_iter=300, random_state=seed)
        clf.fit(x[idx], y, sample_weight=sw)
        present = list(clf.classes_)
        coef = np.full((n, len(classes)), 0.0, dtype=np.float32)
        bias = np.full(len(classes), -30.0, dtype=np.float32)  # a class with no rows is never predicted
        for k, cls in enumerate(present):
            coef[:, cls], bias[cls] = clf.coef_[k], clf.intercept_[k]
        w[:, col0:col0 + len(classes)] = coef
        b[col0:col0 + len(classes)] = bias

    head([r.dim for r in rows], DIMS, 0)
    head([r.cat for r in rows], CATS, len(DIMS))

    # leaf prototypes: L2-normalised centroid of each leaf's rows
    leaf_rows = defaultdict(list)
    for i, r in enumerate(rows):
        if r.risk:
            leaf_rows[r.risk].append(i)
    cents = []
    for rid in RISKS:
        ids = leaf_rows.get(rid, [])
        v = sp.csr_matrix(x[ids].sum(axis=0)) if ids else sp.csr_matrix((1, n), dtype=np.float32)
        norm = float(np.sqrt(v.multiply(v).sum())) or 1.0
        cents.append(v / norm)
    leaf = sp.vstack(cents).tocsr().astype(np.float32)
    cat_dim = np.array([DIMS.index(c.split(".", 1)[0]) for c in CATS])
    risk_cat = np.array([CATS.index(r.rsplit(".", 1)[0]) for r in RISKS])
    return TaggerModel(settings, hasher, w, b, leaf, DIMS, CATS, RISKS, cat_dim, risk_cat, 20.0, "", {})


def fit_ngram(rows: list[Row], settings: Any, c_reg: float, seed: int) -> TaggerModel:
    """The n-gram model: dimension and category heads, leaf prototypes, then the binary harmfulness head."""
    from sklearn.linear_model import LogisticRegression

    m = fit_heads(rows, settings, c_reg, seed)
    idx = [i for i, r in enumerate(rows) if r.harm is not None]
    x = featurize([rows[i].text for i in idx], settings, m.hasher)
    y = np.array([rows[i].harm for i in idx])
    sw = np.array([rows[i].weight for i in idx], dtype=np.float64)
    cell = Counter((int(y[k]), rows[i].lang) for k, i in enumerate(idx))
    sw *= np.array([len(idx) / (len(cell) * cell[(int(y[k]), rows[i].lang)]) for k, i in enumerate(idx)])
    clf = LogisticRegression(C=c_reg, max_iter=300, random_state=seed).fit(x, y, sample_weight=sw)
    col = len(DIMS) + len(CATS)
    m.w[:, col] = clf.coef_[0]
    m.b[col] = clf.intercept_[0]
    return m


# ---------------------------------------------------------------------------------------------- evaluation
TagFn = Callable[[list[str]], list[TagResult]]


def evaluate_source(tag: TagFn, rows: list[Row]) -> dict[str, Any]:
    """Dimension accuracy per language and per gold dimension, confusion, and harm on benign rows."""
    scored = [r for r in rows if r.gold]
    res = tag([r.text for r in scored])
    out: dict[str, Any] = {"n": len(scored), "by_lang": {}, "confusion": {}}
    for lang in ("en", "zh"):
        idx = [i for i, r in enumerate(scored) if r.lang == lang]
        if not idx:
            continue
        ok = [res[i].dimension in scored[i].gold for i in idx]
        single = [i for i in idx if len(scored[i].gold) == 1]
        per_dim: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for i in single:
            g = scored[i].gold[0]
            per_dim[g][0] += res[i].dimension == g
            per_dim[g][1] += 1
        conf: dict[str, Counter[str]] = defaultdict(Counter)
        for i in single:
            conf[scored[i].gold[0]][res[i].dimension] += 1
        out["by_lang"][lang] = {
            "n": len(idx), "accuracy": float(np.mean(ok)),
            "n_single": len(single),
            "accuracy_single": float(np.mean([res[i].dimension == scored[i].gold[0] for i in single])) if single else None,
            "per_dimension": {d: (v[0], v[1]) for d, v in sorted(per_dim.items())},
            "harm_mean": float(np.mean([res[i].harm for i in idx])),
        }
        out["confusion"][lang] = {g: dict(c) for g, c in sorted(conf.items())}
    benign = [r for r in rows if r.harm == 0]
    if benign:
        hb = tag([r.text for r in benign])
        out["benign"] = {lang: {"n": sum(r.lang == lang for r in benign),
                                "harm_mean": float(np.mean([h.harm for h, r in zip(hb, benign, strict=True) if r.lang == lang] or [0])),
                                "share_below_0.5": float(np.mean([h.harm < 0.5 for h, r in zip(hb, benign, strict=True) if r.lang == lang] or [0]))}
                         for lang in ("en", "zh") if any(r.lang == lang for r in benign)}
    return out


def internal_split(rows: list[Row], seed: int, frac: float = 0.15) -> tuple[list[Row], list[Row]]:
    rng = random.Random(seed)
    idx = list(range(len(rows)))
    rng.shuffle(idx)
    cut = int(len(idx) * frac)
    val = set(idx[:cut])
    return [r for i, r in enumerate(rows) if i not in val], [r for i, r in enumerate(rows) if i in val]


def internal_scores(model: TaggerModel, val: list[Row]) -> dict[str, float]:
    res = tag_texts([r.text for r in val], model)
    out = {}
    for key, get in (("dimension", lambda r: r.dim), ("category", lambda r: r.cat), ("risk", lambda r: r.risk)):
        pairs = [(t, get(r)) for t, r in zip(res, val, strict=True) if get(r)]
        out[key] = float(np.mean([getattr(t, key) == g for t, g in pairs])) if pairs else float("nan")
    hv = [(t.harm, r.harm) for t, r in zip(res, val, strict=True) if r.harm is not None]
    out["harm_acc"] = float(np.mean([(h >= 0.5) == bool(y) for h, y in hv]))
    return out


def export(model: TaggerModel, out: Path, meta: dict[str, Any]) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    leaf = model.leaf
    np.savez_compressed(out / "tagger.npz", w=model.w.astype(np.float16), b=model.b.astype(np.float32),
                        leaf_data=leaf.data.astype(np.float16), leaf_indices=leaf.indices.astype(np.int32),
                        leaf_indptr=leaf.indptr.astype(np.int32))
    info = {"features": {k: v for k, v in model.settings.to_dict().items()
                         if k in ("n_bits", "max_chars", "char_chars", "word_ngrams", "char_ngrams")},
            "dimensions": DIMS, "categories": CATS, "risks": RISKS, "leaf_temp": model.leaf_temp, **meta}
    (out / "tagger.json").write_text(json.dumps(info, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return out / "tagger.npz"


def fmt_eval(name: str, ev: dict[str, Any]) -> list[str]:
    lines = [f"### {name}", "", "| lang | rows scored | dimension accuracy (gold set) | rows with one gold dimension | accuracy on them |",
             "|---|---|---|---|---|"]
    for lang, s in ev["by_lang"].items():
        acc1 = f"{100 * s['accuracy_single']:.1f}%" if s["accuracy_single"] is not None else "-"
        lines.append(f"| {lang} | {s['n']} | **{100 * s['accuracy']:.1f}%** | {s['n_single']} | {acc1} |")
    lines += ["", "Per dimension (rows with one gold dimension): right / rows", "",
              "| dimension | " + " | ".join(ev["by_lang"]) + " |", "|---|" + "---|" * len(ev["by_lang"])]
    dims = sorted({d for s in ev["by_lang"].values() for d in s["per_dimension"]})
    for d in dims:
        cells = []
        for s in ev["by_lang"].values():
            ok, n = s["per_dimension"].get(d, (0, 0))
            cells.append(f"{ok}/{n} ({100 * ok / n:.0f}%)" if n else "-")
        lines.append(f"| {d} | " + " | ".join(cells) + " |")
    for lang, conf in ev["confusion"].items():
        lines += ["", f"Dimension confusion, {lang} (rows: gold, columns: predicted)", "",
                  "| gold \\ predicted | " + " | ".join(DIMS) + " |", "|---|" + "---|" * len(DIMS)]
        for g, c in conf.items():
            lines.append(f"| {g} | " + " | ".join(str(c.get(d, 0)) or "0" for d in DIMS) + " |")
    if "benign" in ev:
        lines += ["", "Benign rows of this source: " + "; ".join(
            f"{lang} {b['n']} rows, mean harm {b['harm_mean']:.2f}, {100 * b['share_below_0.5']:.0f}% below 0.5"
            for lang, b in ev["benign"].items())]
    return [*lines, ""]


# -------------------------------------------------------------------------------------- the encoder tagger
def _balanced(rows: list[Row], idx: list[int], y: np.ndarray) -> np.ndarray:
    """Row weights x class balancing (each (class, language) cell, or each class, gets the same total)."""
    sw = np.array([rows[i].weight for i in idx], dtype=np.float64)
    key = (lambda k, i: (y[k], rows[i].lang)) if BALANCE == "class_lang" else (lambda k, i: (y[k], ""))
    cell = Counter(key(k, i) for k, i in enumerate(idx))
    return sw * np.array([len(idx) / (len(cell) * cell[key(k, i)]) for k, i in enumerate(idx)])


def _lr_head(x: np.ndarray, rows: list[Row], labels: list[Any], classes: list[Any], c_reg: float,
             seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A (multinomial) logistic head: coef (dim, len(classes)) and bias; absent classes are never predicted."""
    from sklearn.linear_model import LogisticRegression

    idx = [i for i, lab in enumerate(labels) if lab is not None]
    y = np.array([classes.index(labels[i]) for i in idx])
    clf = LogisticRegression(C=c_reg, max_iter=1000, random_state=seed)
    clf.fit(x[idx], y, sample_weight=_balanced(rows, idx, y))
    coef = np.zeros((x.shape[1], len(classes)), dtype=np.float32)
    bias = np.full(len(classes), -30.0, dtype=np.float32)
    if len(classes) == 2:  # binary: one column (the logit of class 1)
        return clf.coef_[0][:, None].astype(np.float32), clf.intercept_.astype(np.float32)
    for k, cls in enumerate(clf.classes_):
        coef[:, cls], bias[cls] = clf.coef_[k], clf.intercept_[k]
    return coef, bias


def _fit_encoder_heads(x: np.ndarray, rows: list[Row], c_reg: float, seed: int) -> EncoderTaggerModel:
    wd, bd = _lr_head(x, rows, [r.dim for r in rows], DIMS, c_reg, seed)
    wc, bc = _lr_head(x, rows, [r.cat for r in rows], CATS, c_reg, seed)
    wh, bh = _lr_head(x, rows, [r.harm for r in rows], [0, 1], c_reg, seed)
    leaf = np.zeros((len(RISKS), x.shape[1]), dtype=np.float32)
    for k, rid in enumerate(RISKS):
        ids = [i for i, r in enumerate(rows) if r.risk == rid]
        if ids:
            v = x[ids].mean(axis=0)
            leaf[k] = v / max(float(np.linalg.norm(v)), 1e-9)
    return EncoderTaggerModel(np.hstack([wd, wc, wh]), np.concatenate([bd, bc, bh]), leaf, DIMS, CATS, RISKS)


def _nll_temp(z: np.ndarray, y: np.ndarray) -> float:
    """The temperature (grid) that minimises the negative log-likelihood of labels `y` under softmax(z / T)."""
    best, best_t = float("inf"), 1.0
    for t in np.exp(np.linspace(np.log(0.2), np.log(5.0), 41)):
        zz = z / t
        zz = zz - zz.max(axis=1, keepdims=True)
        nll = float(-(zz[np.arange(len(y)), y] - np.log(np.exp(zz).sum(axis=1))).mean())
        if nll < best:
            best, best_t = nll, float(t)
    return best_t


def fit_encoder(rows: list[Row], x: np.ndarray, c_reg: float, seed: int) -> tuple[EncoderTaggerModel, dict[str, Any]]:
    """Heads on encoder vectors; calibration (dimension and category temperatures, Platt scaling of harm,
    the leaf temperature) fitted on a held-back 15% of the training rows, then the heads refitted on all rows."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(rows))
    cut = int(0.15 * len(rows))
    va, tr = perm[:cut], perm[cut:]
    m = _fit_encoder_heads(x[tr], [rows[i] for i in tr], c_reg, seed)
    z = x[va] @ m.w + m.b
    nd, nc = len(DIMS), len(CATS)
    vd = [k for k, i in enumerate(va) if rows[i].dim]
    vc = [k for k, i in enumerate(va) if rows[i].cat]
    vh = [k for k, i in enumerate(va) if rows[i].harm is not None]
    dim_t = _nll_temp(z[vd, :nd], np.array([DIMS.index(rows[va[k]].dim) for k in vd]))  # type: ignore[arg-type]
    cat_t = _nll_temp(z[vc, nd:nd + nc], np.array([CATS.index(rows[va[k]].cat) for k in vc]))  # type: ignore[arg-type]
    platt = LogisticRegression(C=1e4).fit(z[vh, nd + nc][:, None], [rows[va[k]].harm for k in vh])
    vl = [k for k, i in enumerate(va) if rows[i].risk]
    leaf_t, best = 20.0, float("inf")
    for t in (10.0, 20.0, 40.0, 80.0, 160.0):
        nll = 0.0
        for k in vl:
            r = rows[va[k]]
            leaves = [j for j, rid in enumerate(RISKS) if rid.rsplit(".", 1)[0] == r.cat]
            s = (x[va[k]] @ m.leaf[leaves].T) * t
            s = s - s.max()
            nll -= float(s[leaves.index(RISKS.index(r.risk))] - np.log(np.exp(s).sum()))  # type: ignore[arg-type]
        if nll < best:
            best, leaf_t = nll, t
    pv = tag_vectors(x[va], m)
    internal = {
        "dimension": float(np.mean([pv[k].dimension == rows[va[k]].dim for k in vd])),
        "category": float(np.mean([pv[k].category == rows[va[k]].cat for k in vc])),
        "risk": float(np.mean([pv[k].risk == rows[va[k]].risk for k in vl])) if vl else float("nan"),
        "harm_acc": float(np.mean([(pv[k].harm >= 0.5) == bool(rows[va[k]].harm) for k in vh])),
    }
    full = _fit_encoder_heads(x, rows, c_reg, seed)
    full.w = full.w.astype(np.float16).astype(np.float32)  # evaluate what ships (float16 on disk)
    full.leaf = full.leaf.astype(np.float16).astype(np.float32)
    full.dim_temp, full.cat_temp, full.leaf_temp = dim_t, cat_t, leaf_t
    full.harm_a, full.harm_c = float(platt.coef_[0][0]), float(platt.intercept_[0])
    return full, {"internal_split": internal, "dim_temp": dim_t, "cat_temp": cat_t, "leaf_temp": leaf_t,
                  "harm_platt": [full.harm_a, full.harm_c]}


def fmt_side_by_side(name: str, evs: dict[str, dict[str, Any]]) -> list[str]:
    """One held-out source, several models: accuracy per language, then per dimension."""
    lines = [f"### {name}: " + " vs ".join(evs), "",
             "| lang | rows scored | " + " | ".join(f"{m} (gold set)" for m in evs) + " | rows with one gold dimension | "
             + " | ".join(f"{m} on them" for m in evs) + " |", "|---|---|" + "---|" * (2 * len(evs) + 1)]
    first = next(iter(evs.values()))
    for lang, s0 in first["by_lang"].items():
        accs = " | ".join(f"**{100 * e['by_lang'][lang]['accuracy']:.1f}%**" for e in evs.values())
        acc1 = " | ".join(f"{100 * e['by_lang'][lang]['accuracy_single']:.1f}%" if e["by_lang"][lang]["accuracy_single"]
                          is not None else "-" for e in evs.values())
        lines.append(f"| {lang} | {s0['n']} | {accs} | {s0['n_single']} | {acc1} |")
    lines += ["", "Per dimension (rows with one gold dimension): right / rows, " + " / ".join(evs), "",
              "| dimension | " + " | ".join(first["by_lang"]) + " |", "|---|" + "---|" * len(first["by_lang"])]
    dims = sorted({d for s in first["by_lang"].values() for d in s["per_dimension"]})
    for d in dims:
        cells = []
        for lang in first["by_lang"]:
            parts = [e["by_lang"][lang]["per_dimension"].get(d, (0, 0)) for e in evs.values()]
            cells.append(" / ".join(f"{ok}" for ok, _ in parts) + f" of {parts[0][1]}" if parts[0][1] else "-")
        lines.append(f"| {d} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--out", type=Path, default=ROOT / "src" / "seval" / "tagger" / "weights")
    ap.add_argument("--holdout", default="multijail", help="comma-separated sources never trained on")
    ap.add_argument("--strict-holdout", default="multijail,xsafety",
                    help="a second, stricter run for the report ('' to skip)")
    ap.add_argument("--extra", type=Path, default=None, help="folder of extra prompt sets (see `extra:` in the map)")
    ap.add_argument("--c", type=float, default=0.0,
                    help="regularisation C of the encoder heads; 0 picks it on an internal split of the training rows")
    ap.add_argument("--ngram-c", type=float, default=8.0, help="C of the n-gram recipe trained beside it")
    ap.add_argument("--no-ngram", action="store_true", help="skip the n-gram recipe (faster)")
    ap.add_argument("--cap", default="xsafety=800,jade_prompts=300,cold_zh=200,openai_moderation=100",
                    help="at most N rows of a source (seeded, stratified), to bound the encoding time")
    ap.add_argument("--encoder", default="e5")
    ap.add_argument("--n-bits", type=int, default=16)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--balance", choices=["class", "class_lang"], default="class_lang")
    ap.add_argument("--report", type=Path, default=HERE / "TAGGER_REPORT.md")
    args = ap.parse_args()
    global BALANCE
    BALANCE = args.balance
    t0 = time.time()
    cmap = yaml.safe_load((HERE / "tagger_category_map.yaml").read_text("utf-8"))
    caps = {k: int(v) for k, v in (kv.split("=") for kv in args.cap.split(",") if kv.strip())}
    own = load_authored() + load_taxonomy_texts() + load_starter()
    public = {name: cap_rows(load_source(name, spec, args.data, args.seed), caps.get(name, 10**9), args.seed)
              for name, spec in cmap["sources"].items()}
    if args.extra:
        for r in load_extra(args.extra, cmap, args.seed):
            public.setdefault(r.source, []).append(r)
    counts = {name: len(rs) for name, rs in public.items()}
    counts.update(Counter(r.source for r in own))
    authored_per_leaf = Counter((r.risk, r.lang) for r in own if r.source == "authored" and r.risk)
    print("rows per source:", counts, file=sys.stderr)
    everything = own + [r for rs in public.values() for r in rs]
    vec = dict(zip((r.text for r in everything), encode([r.text for r in everything], args.encoder), strict=True))
    t_enc = time.time() - t0
    print(f"encoded {len(vec)} texts in {t_enc:.0f} s", file=sys.stderr)

    def train_rows(holdout: set[str]) -> list[Row]:
        return own + [r for name, rs in public.items() if name not in holdout for r in rs]

    def xs(rows: list[Row]) -> np.ndarray:
        return np.stack([vec[r.text] for r in rows])

    settings = feature_settings({"n_bits": args.n_bits})

    def run(holdout: set[str]) -> tuple[EncoderTaggerModel, dict[str, Any], dict[str, dict[str, Any]]]:
        rows = train_rows(holdout)
        x = xs(rows)
        c_scores: dict[float, dict[str, float]] = {}
        c_reg = args.c
        if not c_reg:  # chosen on an internal split of the training rows only (never on a held-out source)
            for c in (1.0, 4.0, 16.0):
                c_scores[c] = fit_encoder(rows, x, c, args.seed)[1]["internal_split"]
                print(f"  C={c}: {c_scores[c]}", file=sys.stderr)
            c_reg = max(c_scores, key=lambda c: c_scores[c]["dimension"] + c_scores[c]["category"])
        model, cal = fit_encoder(rows, x, c_reg, args.seed)
        cal.update({"C": c_reg, "C_internal": {str(k): v for k, v in c_scores.items()}})
        evals: dict[str, dict[str, Any]] = {}
        ng = None if args.no_ngram else fit_ngram(rows, settings, args.ngram_c, args.seed)
        for name in sorted(holdout):
            if not public.get(name):
                continue
            evals[name] = {"encoder": evaluate_source(lambda t: tag_vectors(np.stack([vec[s] for s in t]), model),
                                                      public[name])}
            if ng is not None:
                evals[name]["n-gram (same rows)"] = evaluate_source(lambda t, ng=ng: tag_texts(t, ng), public[name])
        return model, cal, evals

    holdout = {s.strip() for s in args.holdout.split(",") if s.strip()}
    model, cal, evals = run(holdout)
    from seval.tagger import ngram

    for name in evals:  # the shipped n-gram weights (trained without multijail) on the same rows
        if name in ngram.load_model().info.get("held_out", []):
            evals[name]["n-gram (shipped)"] = evaluate_source(lambda t: tag_texts(t), public[name])
    strict: dict[str, Any] = {}
    strict_ho = {s.strip() for s in args.strict_holdout.split(",") if s.strip()}
    if strict_ho and strict_ho != holdout:
        strict = run(strict_ho)[2]
    from seval.text.encoders import get_encoder

    enc = get_encoder(args.encoder)
    path = model.save(args.out, {"encoder_model": enc.model_id, "trained_on": sorted(set(counts) - holdout),
                                 "held_out": sorted(holdout), "seed": args.seed, **cal})
    size = path.stat().st_size
    n_leaf = [authored_per_leaf.get((r, lang), 0) for r in RISKS for lang in ("en", "zh")]
    lines = ["# Risk tagger: training report", "",
             f"Produced by `python training/train_tagger.py --data ../shared/data --holdout {args.holdout}"
             + (f" --extra {args.extra}" if args.extra else "") + (f" --c {args.c:g}" if args.c else "")
             + f" --strict-holdout {args.strict_holdout}` (seeded, deterministic).", "",
             f"Weights: `src/seval/tagger/weights/{path.name}`, {size / 1e3:.0f} kB (float16 heads over the "
             f"{enc.dim}-d `{args.encoder}` encoder ({enc.model_id}); dimension, category and harm heads + "
             "float16 leaf prototypes). The n-gram tagger (`ngram`, `tagger.npz`) is kept beside it.", "",
             "Rows per source: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) + ". Caps (seeded, "
             f"stratified): {args.cap}. Authored prompts per leaf and language: min {min(n_leaf)}, median "
             f"{sorted(n_leaf)[len(n_leaf) // 2]}, max {max(n_leaf)}.", "",
             f"Held out from training (fixed before training): {', '.join(sorted(holdout))}. Encoder heads: "
             f"C={cal['C']} ("
             + ("chosen on a 15% internal split of the training rows: " if cal["C_internal"] else "given with --c")
             + "; ".join(f"C={c}: dim {v['dimension']:.3f}, cat {v['category']:.3f}, leaf {v['risk']:.3f}, "
                         f"harm {v['harm_acc']:.3f}" for c, v in cal["C_internal"].items()) + "), "
             f"class weights balanced per {BALANCE.replace('_', ' and ')}; authored rows weigh "
             f"{CLEAN_WEIGHT:g}, public rows 1. Calibration on the internal split: dimension temperature "
             f"{cal['dim_temp']:.2f}, category {cal['cat_temp']:.2f}, leaf {cal['leaf_temp']:g}, harm Platt "
             f"a={cal['harm_platt'][0]:.2f} c={cal['harm_platt'][1]:.2f}. The n-gram recipe beside it is trained on "
             f"the same rows (C={args.ngram_c}).", "",
             "A prediction counts as right when the predicted dimension is in the row's gold set (from the `eval` "
             "map of training/tagger_category_map.yaml: broad or multi-label categories fit several dimensions); "
             "the 'one gold dimension' columns count only rows whose category maps to a single dimension.", "",
             "## The shipped model on its held-out source(s)", ""]
    for name, ev in evals.items():
        lines += fmt_side_by_side(f"{name} (never trained on)", ev)
        lines += fmt_eval(f"{name}: encoder tagger in detail", ev["encoder"])
    if strict:
        lines += ["## Stricter run: " + " and ".join(sorted(strict_ho)) + " both held out", "",
                  "The same recipe trained without either source (this model is not shipped).", ""]
        for name, ev in strict.items():
            lines += fmt_side_by_side(f"{name} (never trained on)", ev)
            lines += fmt_eval(f"{name}: encoder tagger in detail", ev["encoder"])
    lines += [f"Training took {time.time() - t0:.0f} s on this machine ({t_enc:.0f} s of it encoding, most "
              "texts from the encoder cache when run before)."]
    args.report.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
