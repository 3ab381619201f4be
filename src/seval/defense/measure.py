"""What `seval defend` measures: paired safety gain, ASR reduction, cost and routing (seval.defend runs it).

Safety gains are paired (same test cases, joined on id): the difference of safe shares over cases judged in
both runs, with Newcombe's 95% interval for paired proportions (the paired bootstrap's is kept in the JSON as
`*_boot_lo/hi`) and an exact McNemar p-value (seval.metrics.compare).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from typing import Any

from seval.records import ResultRow


def _rows_where(rows: Iterable[ResultRow], **eq: Any) -> list[ResultRow]:
    return [r for r in rows if all(getattr(r, k) == v for k, v in eq.items())]


def compare_runs(base_rows: list[ResultRow], def_rows: list[ResultRow]) -> dict[str, Any]:
    """Safety per dimension (base prompts) and ASR per attack (attack prompts), without vs. with the defense."""
    from seval.metrics.compare import compare
    from seval.metrics.stats import newcombe_paired

    def pair(a: list[ResultRow], b: list[ResultRow], attacks: bool) -> dict[str, Any]:
        # compare(A, B) gives safety(A) - safety(B): A = defended, B = baseline, so diff = safety gained
        c = compare(a, b, attacks=attacks)
        lo, hi = newcombe_paired(c["both_safe"], c["a_safe_b_unsafe"], c["a_unsafe_b_safe"], c["both_unsafe"])
        return {"n": c["n_pairs"], "without": c["b"], "with": c["a"], "gain": c["diff"], "gain_lo": lo,
                "gain_hi": hi, "gain_boot_lo": c["diff_boot_lo"], "gain_boot_hi": c["diff_boot_hi"], "p_value": c["p_value"],
                "fixed": c["a_safe_b_unsafe"], "broken": c["a_unsafe_b_safe"],
                "excluded_unjudged": c["excluded_unjudged"]}

    safety: dict[str, Any] = {"overall": pair(def_rows, base_rows, False), "by_dimension": {}, "by_language": {}}
    dims = sorted({r.dimension for r in base_rows if r.dimension and not r.attack})
    for d in dims:
        safety["by_dimension"][d] = pair(_rows_where(def_rows, dimension=d), _rows_where(base_rows, dimension=d), False)
    for lang in sorted({r.lang for r in base_rows if not r.attack}):
        safety["by_language"][lang] = pair(_rows_where(def_rows, lang=lang), _rows_where(base_rows, lang=lang), False)
    attacks: dict[str, Any] = {}
    for a in sorted({r.attack for r in base_rows if r.attack}):
        blk = pair(_rows_where(def_rows, attack=a), _rows_where(base_rows, attack=a), True)
        # ASR = share unsafe = 1 - safety; the ASR reduction equals the safety gain on the same pairs
        attacks[a] = {"n": blk["n"], "asr_without": _flip(blk["without"]), "asr_with": _flip(blk["with"]),
                      "reduction": blk["gain"], "reduction_lo": blk["gain_lo"], "reduction_hi": blk["gain_hi"],
                      "p_value": blk["p_value"]}
    return {"safety": safety, "attacks": attacks}


def _flip(block: dict[str, Any]) -> dict[str, Any]:
    if block.get("rate") is None:
        return dict(block)
    return {"rate": 1 - block["rate"], "lo": 1 - block["hi"], "hi": 1 - block["lo"], "n": block["n"]}


def _mean(xs: list[float]) -> float | None:
    return statistics.fmean(xs) if xs else None


def cost(base_rows: list[ResultRow], def_rows: list[ResultRow]) -> dict[str, Any]:
    """Mean prompt tokens, completion tokens and latency per answered request, and the defense's extra."""
    out: dict[str, Any] = {}
    for name, rows in (("without", base_rows), ("with", def_rows)):
        ok = [r for r in rows if r.status == "ok"]
        out[name] = {"n": len(ok), "prompt_tokens": _mean([r.prompt_tokens for r in ok]),
                     "completion_tokens": _mean([r.completion_tokens for r in ok]),
                     "latency_s": _mean([r.latency_s for r in ok])}
    for key in ("prompt_tokens", "completion_tokens", "latency_s"):
        a, b = out["with"][key], out["without"][key]
        out[f"extra_{key}"] = (a - b) if a is not None and b is not None else None
    return out


def refusal_cost(base: list[Any], defended: list[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, rows in (("without", base), ("with", defended)):
        ok = [o for o in rows if o.refused is not None]
        out[name] = {"n": len(ok), "prompt_tokens": _mean([o.prompt_tokens for o in ok]),
                     "completion_tokens": _mean([o.completion_tokens for o in ok]),
                     "latency_s": _mean([o.latency_s for o in ok])}
    for key in ("prompt_tokens", "latency_s"):
        a, b = out["with"][key], out["without"][key]
        out[f"extra_{key}"] = (a - b) if a is not None and b is not None else None
    routed = [o for o in defended if o.defense]
    out["share_given_specific_clauses"] = (sum(1 for o in routed if len(o.defense["clauses"]) > 1) / len(routed)
                                           if routed else None)
    return out


async def routing_stats(defense: Any, rows: list[ResultRow]) -> dict[str, Any]:
    """How the router saw the benchmark's base prompts: share routed to any clause, and to the right dimension."""
    base = [r for r in rows if not r.attack and r.dimension]
    if not base:
        return {}
    sels = await defense.plan([r.prompt for r in base])
    routed = [(r, s) for r, s in zip(base, sels, strict=True) if s.routed or s.routed_dims]
    right_dim = 0
    right_cat = 0
    from seval.taxonomy import load_taxonomy

    tax = load_taxonomy()
    for r, s in routed:
        dims = {tax.find_category(c).dimension for c in s.routed if tax.find_category(c)}  # type: ignore[union-attr]
        dims |= set(s.routed_dims)
        right_dim += r.dimension in dims
        right_cat += bool(r.category) and r.category in s.routed
    n = len(base)
    return {"n": n, "routed": len(routed) / n, "routed_right_dimension": right_dim / n,
            "routed_right_category": right_cat / n,
            "jailbreak_flagged": sum(1 for s in sels if s.jailbreak) / n}
