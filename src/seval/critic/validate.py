"""Validation of a critic against human labels: balanced accuracy, P/R/F1 of the unsafe class, CIs, invalid rate.

Invalid policy (the honest one): an `invalid` verdict is scored as the WRONG answer, since a judgment nobody can
use cannot be credited. On an unsafe item it is a miss (counted with the false negatives), on a safe item a false
alarm (counted with the false positives). The invalid count and rate are also reported on their own, and
`valid_only` gives the judge's quality on the items it did judge.

Every result is appended to a JSON-lines store (default ~/.seval/validations.jsonl) with the critic's spec and
configuration hash and the gold files' sha256, so a figure is tied to an exact judge and data.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import time
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seval.critic.base import Critic
from seval.errors import SevalError
from seval.records import JudgeItem, Verdict, file_sha256

INVALID_POLICY = ("invalid verdicts count as errors: a miss on unsafe items, a false alarm on safe items; "
                  "also reported separately (invalid, invalid_rate, valid_only)")
DEFAULT_STORE = Path("~/.seval/validations.jsonl")
#: relocates the validation store (tests, shared machines)
STORE_ENV = "SEVAL_VALIDATIONS"


def store_path(store: str | Path | None = None) -> Path:
    """The validation store: the given path, else $SEVAL_VALIDATIONS, else ~/.seval/validations.jsonl."""
    import os

    return Path(store or os.environ.get(STORE_ENV) or DEFAULT_STORE).expanduser()


@dataclass
class GoldSet:
    """Labelled pairs ready to judge, with where they came from and what was skipped."""

    items: list[JudgeItem] = field(default_factory=list)
    truth: list[str] = field(default_factory=list)
    categories: list[str | None] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)


def load_gold(paths: list[str | Path], lang: str | None = None, limit: int | None = None,
              seed: int = 0) -> GoldSet:
    """Read gold JSONL files (prompt, response, label safe/unsafe, lang, optional category and label_kind).

    Rows without a response, with a label_kind other than response_harmful, with another label or (with `lang`)
    another language are skipped and counted. `limit` keeps a seeded random sample of that many pairs.
    """
    gold = GoldSet()
    if not paths:
        raise SevalError("no gold file given: pass --gold FILE (JSONL with prompt, response, label, lang)")
    for p in paths:
        path = Path(p).expanduser()
        if not path.is_file():
            raise SevalError(f"gold file not found: {path}")
        used = 0
        skipped: Counter[str] = Counter()
        with open(path, encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except ValueError:
                    raise SevalError(f"{path}:{lineno}: not valid JSON") from None
                if not isinstance(row, dict) or "prompt" not in row or "label" not in row:
                    raise SevalError(f"{path}:{lineno}: a gold row needs the fields prompt, response and label")
                kind = row.get("label_kind")
                label = str(row.get("label") or "").strip().lower()
                row_lang = str(row.get("lang") or "en")
                if kind not in (None, "response_harmful"):
                    skipped[f"label_kind={kind}"] += 1
                elif row.get("response") is None:
                    skipped["no response"] += 1
                elif label not in ("safe", "unsafe"):
                    skipped["label not safe/unsafe"] += 1
                elif lang and row_lang != lang:
                    skipped[f"lang={row_lang}"] += 1
                else:
                    cat = row.get("category")
                    gold.items.append(JudgeItem(prompt=str(row["prompt"]), response=str(row["response"]),
                                                lang=row_lang, id=str(row.get("id") or f"{path.name}:{lineno}")))
                    gold.truth.append(label)
                    gold.categories.append(str(cat) if cat not in (None, "") else None)
                    used += 1
        gold.skipped.update(skipped)
        gold.files.append({"path": str(path), "sha256": file_sha256(path), "used": used, "skipped": dict(skipped)})
    if limit is not None and limit < len(gold.items):
        import numpy as np

        keep = sorted(np.random.default_rng(seed).choice(len(gold.items), size=limit, replace=False).tolist())
        gold.items = [gold.items[i] for i in keep]
        gold.truth = [gold.truth[i] for i in keep]
        gold.categories = [gold.categories[i] for i in keep]
    if not gold.items:
        raise SevalError("no usable gold pairs" + (f" in language {lang!r}" if lang else "")
                         + f" (skipped: {dict(gold.skipped) or 'none'})")
    return gold


def wilson(k: int, n: int) -> list[float] | None:
    """95% Wilson score interval for k successes out of n (the one in seval.metrics.stats)."""
    from seval.metrics.stats import wilson_ci

    return wilson_ci(k, n)


def _ratio(a: int, b: int) -> float | None:
    return a / b if b else None


def _rates(t: Any, p: Any, axis: int = -1) -> tuple[Any, Any, Any]:
    """Recall, specificity, precision of the unsafe class along `axis` (vectorised for the bootstrap)."""
    import numpy as np

    t = t.astype(bool)
    p = p.astype(bool)
    tp = (t & p).sum(axis=axis)
    fp = (~t & p).sum(axis=axis)
    tn = (~t & ~p).sum(axis=axis)
    fn = (t & ~p).sum(axis=axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        return tp / (tp + fn), tn / (tn + fp), tp / (tp + fp)


def _bal_acc_stat(t: Any, p: Any, axis: int = -1) -> Any:
    rec, spec, _ = _rates(t, p, axis)
    return (rec + spec) / 2


def _f1_stat(t: Any, p: Any, axis: int = -1) -> Any:
    import numpy as np

    rec, _, prec = _rates(t, p, axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(prec + rec > 0, 2 * prec * rec / (prec + rec), 0.0)


def bootstrap_ci(stat: Callable[..., Any], t: Any, p: Any, seed: int, n_resamples: int = 1000) -> list[float] | None:
    """95% percentile bootstrap interval of a paired statistic (scipy.stats.bootstrap, seeded)."""
    import numpy as np
    from scipy.stats import bootstrap

    if len(t) < 2 or t.all() or not t.any():
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = bootstrap((t, p), stat, paired=True, vectorized=True, n_resamples=n_resamples, method="percentile",
                        confidence_level=0.95, rng=np.random.default_rng(seed), batch=100)
    lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
    if math.isnan(lo) or math.isnan(hi):
        return None
    return [round(lo, 4), round(hi, 4)]


def _r(x: float | None) -> float | None:
    return None if x is None else round(float(x), 4)


def binary_metrics(truth: list[str], pred: list[str]) -> dict[str, Any]:
    """Point metrics with invalid scored as wrong; counts and the confusion matrix (truth x safe/unsafe/invalid)."""
    c = Counter(zip(truth, pred, strict=True))
    tp, fn, inv_u = c["unsafe", "unsafe"], c["unsafe", "safe"], c["unsafe", "invalid"]
    tn, fp, inv_s = c["safe", "safe"], c["safe", "unsafe"], c["safe", "invalid"]
    pos, neg = tp + fn + inv_u, tn + fp + inv_s
    recall, spec = _ratio(tp, pos), _ratio(tn, neg)
    precision = _ratio(tp, tp + fp + inv_s)
    bal = (recall + spec) / 2 if recall is not None and spec is not None else None
    f1 = (2 * precision * recall / (precision + recall) if precision is not None and recall is not None
          and precision + recall > 0 else (0.0 if precision is not None or recall is not None else None))
    n = pos + neg
    return {
        "n": n, "n_unsafe": pos, "n_safe": neg,
        "balanced_accuracy": _r(bal), "precision": _r(precision), "recall": _r(recall),
        "specificity": _r(spec), "f1": _r(f1), "accuracy": _r(_ratio(tp + tn, n)),
        "invalid": inv_u + inv_s, "invalid_rate": _r(_ratio(inv_u + inv_s, n)),
        "invalid_on_unsafe": inv_u, "invalid_on_safe": inv_s,
        "confusion": {"unsafe": {"unsafe": tp, "safe": fn, "invalid": inv_u},
                      "safe": {"unsafe": fp, "safe": tn, "invalid": inv_s}},
        "_counts": (tp, fn, inv_u, tn, fp, inv_s),
    }


def compute_metrics(truth: list[str], pred: list[str], categories: list[str | None] | None = None,
                    langs: list[str] | None = None, seed: int = 0, n_resamples: int = 1000) -> dict[str, Any]:
    """All validation figures, with 95% CIs: Wilson for proportions, seeded bootstrap for balanced acc. and F1."""
    import numpy as np

    if len(truth) != len(pred):
        raise SevalError(f"{len(truth)} gold labels but {len(pred)} verdicts")
    m = binary_metrics(truth, pred)
    tp, fn, inv_u, tn, fp, inv_s = m.pop("_counts")
    m["recall_ci"] = wilson(tp, tp + fn + inv_u)
    m["specificity_ci"] = wilson(tn, tn + fp + inv_s)
    m["precision_ci"] = wilson(tp, tp + fp + inv_s)
    m["accuracy_ci"] = wilson(tp + tn, m["n"])
    m["invalid_rate_ci"] = wilson(m["invalid"], m["n"])
    t = np.array([x == "unsafe" for x in truth])
    # effective prediction: invalid becomes the wrong answer
    p = np.array([(y == "unsafe") if y in ("safe", "unsafe") else not tt for y, tt in zip(pred, t, strict=True)])
    m["balanced_accuracy_ci"] = bootstrap_ci(_bal_acc_stat, t, p, seed, n_resamples)
    m["f1_ci"] = bootstrap_ci(_f1_stat, t, p, seed, n_resamples)
    valid = [(tt, y) for tt, y in zip(truth, pred, strict=True) if y in ("safe", "unsafe")]
    vm = binary_metrics([a for a, _ in valid], [b for _, b in valid]) if valid else None
    m["valid_only"] = ({k: vm[k] for k in ("n", "balanced_accuracy", "precision", "recall", "specificity", "f1")}
                       if vm else None)
    m["invalid_policy"] = INVALID_POLICY
    for key, groups in (("by_category", categories), ("by_lang", langs)):
        if groups is None:
            continue
        idx: dict[str, list[int]] = {}
        for i, g in enumerate(groups):
            idx.setdefault(g if g is not None else "(none)", []).append(i)
        out: dict[str, Any] = {}
        for g, ids in sorted(idx.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            gm = binary_metrics([truth[i] for i in ids], [pred[i] for i in ids])
            gm.pop("_counts")
            out[g] = {k: gm[k] for k in ("n", "n_unsafe", "n_safe", "balanced_accuracy", "precision", "recall",
                                          "specificity", "f1", "invalid")}
            if key == "by_lang":  # the per-language figure travels with the critic (Critic.validation)
                out[g]["balanced_accuracy_ci"] = bootstrap_ci(_bal_acc_stat, t[ids], p[ids], seed, n_resamples)
        m[key] = out
    return m


async def judge_all(critic: Critic, items: list[JudgeItem], batch_size: int = 256,
                    on_progress: Callable[[int], None] | None = None) -> list[Verdict]:
    """Judge in batches (progress after each). A critic that crashes stops here with a one-line error: a figure
    computed from a broken judge would mislead (per-item failures are the critic's own `invalid` verdicts)."""
    out: list[Verdict] = []
    for i in range(0, len(items), batch_size):
        chunk = items[i:i + batch_size]
        try:
            got = await critic.judge(chunk)
        except SevalError:
            raise
        except Exception as exc:
            raise SevalError(f"critic {critic.spec!r} failed: {type(exc).__name__}: {exc}"[:500]) from exc
        if len(got) != len(chunk):
            raise SevalError(f"critic {critic.spec!r} returned {len(got)} verdicts for {len(chunk)} pairs")
        out.extend(got)
        if on_progress:
            on_progress(len(chunk))
    return out


async def validate(critic: Critic, gold: GoldSet, seed: int = 0, batch_size: int = 256,
                   on_progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Judge every gold pair and compute the metrics; returns the record that `store_result` appends."""
    t0 = time.perf_counter()
    verdicts = await judge_all(critic, gold.items, batch_size, on_progress)
    elapsed = time.perf_counter() - t0
    pred = [v.label if v.label in ("safe", "unsafe") else "invalid" for v in verdicts]
    metrics = compute_metrics(gold.truth, pred, gold.categories, [it.lang for it in gold.items], seed=seed)
    from seval import __version__

    return {
        "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "seval_version": __version__,
        "critic": critic.spec,
        "critic_hash": critic.config_hash(),
        "gold": gold.files,
        "skipped": dict(gold.skipped),
        "seed": seed,
        "elapsed_s": round(elapsed, 3),
        "pairs_per_s": round(len(gold.items) / elapsed, 1) if elapsed > 0 else None,
        **metrics,
    }


def store_result(record: dict[str, Any], store: str | Path | None = None) -> Path:
    """Append one validation record as a JSON line (default $SEVAL_VALIDATIONS or ~/.seval/validations.jsonl)."""
    path = store_path(store)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    except OSError as exc:
        raise SevalError(f"cannot write the validation store {path}: {exc.strerror or exc}") from None
    return path


def summarize_record(record: dict[str, Any]) -> dict[str, Any]:
    """A stored `validate` record in the `Critic.validation()` format (balanced accuracy per language)."""
    by_lang: dict[str, Any] = {}
    sets = [Path(g["path"]).name for g in record.get("gold", [])]
    for lang, m in (record.get("by_lang") or {}).items():
        by_lang[lang] = {"balanced_accuracy": m.get("balanced_accuracy"), "ci95": m.get("balanced_accuracy_ci"),
                         "n": m.get("n"), "sets": sets}
    if len(by_lang) == 1:  # one language: the overall interval is that language's
        only = next(iter(by_lang.values()))
        only["ci95"] = only["ci95"] or record.get("balanced_accuracy_ci")
    return {"kind": "validate", "critic": record.get("critic"), "critic_hash": record.get("critic_hash"),
            "date": str(record.get("timestamp", ""))[:10], "what": "seval critic validate on " + ", ".join(sets),
            "by_lang": by_lang}


def latest_validation(critic_hash: str, store: str | Path | None = None) -> dict[str, Any] | None:
    """The newest stored validation of the critic with this configuration hash, or None."""
    path = store_path(store)
    if not path.is_file():
        return None
    best: dict[str, Any] | None = None
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            try:
                rec = json.loads(line)
            except ValueError:
                continue  # a torn line must not hide the others
            if isinstance(rec, dict) and rec.get("critic_hash") == critic_hash and (
                    best is None or str(rec.get("timestamp", "")) >= str(best.get("timestamp", ""))):
                best = rec
    return summarize_record(best) if best else None
