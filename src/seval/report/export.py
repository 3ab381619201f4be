"""Machine-readable exports of a report: JSON (summaries + leaderboard), CSV and Markdown tables."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from seval.metrics.render import fmt_rate

CSV_COLUMNS = ["section", "bench_sha256", "rank", "label", "run", "key", "rate", "lo", "hi", "n", "safe", "unsafe",
               "invalid", "error", "content_filter", "mean_asr", "adaptive_asr"]


def to_json(ctx: dict[str, Any]) -> str:
    """Leaderboard, every run's full summary and run.json, paired comparisons and studies."""
    data = {
        "generated": ctx["generated"],
        "seval_version": ctx["seval_version"],
        "leaderboard": ctx["leaderboard"],
        "runs": [{"label": r.label, "run": str(r.path), "meta": r.meta, "summary": r.summary} for r in ctx["runs"]],
        "defense": ctx["defense"],
        "language": [{"label": x["label"], "paired": x["paired"]} for x in ctx["lang_rows"]],
        "studies": [{k: v for k, v in s.items() if k != "_path"} | {"path": s.get("_path")} for s in ctx["studies"]],
        "redteam": ctx.get("redteam", {}).get("rows", []),
    }
    return json.dumps(data, ensure_ascii=False, indent=2, default=str)


def _row(section: str, sha: Any, rank: Any, label: str, run: str, key: str, b: dict[str, Any] | None,
         **extra: Any) -> dict[str, Any]:
    b = b or {}
    out = {"section": section, "bench_sha256": sha or "", "rank": rank if rank is not None else "", "label": label,
           "run": run, "key": key}
    for k in ("rate", "lo", "hi", "n", "safe", "unsafe", "invalid", "error", "content_filter"):
        v = b.get(k)
        out[k] = "" if v is None else v
    out.update({k: "" if v is None else v for k, v in extra.items()})
    return out


def to_csv(ctx: dict[str, Any]) -> str:
    """One table: `leaderboard` rows (overall safety), then `dimension`, `language` and `attack` rows per run."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, lineterminator="\n")
    w.writeheader()
    sha_of = {}
    for g in ctx["leaderboard"]["groups"]:
        for e in g["rows"]:
            sha_of[e["run"]] = g["bench_sha256"]
            w.writerow(_row("leaderboard", g["bench_sha256"], e["rank"], e["label"], e["run"], "overall", e["safety"],
                            mean_asr=e["mean_asr"]["rate"], adaptive_asr=e["adaptive"]["rate"]))
    for r in ctx["runs"]:
        sha = sha_of.get(str(r.path))
        for k, b in r.summary["safety"]["by_dimension"].items():
            w.writerow(_row("dimension", sha, None, r.label, str(r.path), k, b))
        for k, b in r.summary["safety"]["by_language"].items():
            w.writerow(_row("language", sha, None, r.label, str(r.path), k, b))
        for k, b in r.summary["attacks"]["by_attack"].items():
            w.writerow(_row("attack", sha, None, r.label, str(r.path), k, b))
    for x in ctx.get("redteam", {}).get("rows", []):  # adaptive red teaming: one row per method
        for m, b in x["methods"].items():
            w.writerow(_row("redteam", None, None, x["label"], "", m, b["asr"]))
    return buf.getvalue()


def _md_cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ").replace("<", "&lt;").replace(">", "&gt;")


def _md_table(head: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(_md_cell(h) for h in head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return [*lines, ""]


def to_markdown(ctx: dict[str, Any]) -> str:
    """Leaderboard per benchmark, safety by dimension, attack success; rates in % with 95% CIs."""
    out = [f"# seval report ({ctx['generated']})", ""]
    for w in ctx["leaderboard"]["warnings"]:
        out += [f"> **Warning:** {_md_cell(w)}", ""]
    for g in ctx["leaderboard"]["groups"]:
        title = f"## Leaderboard: {g['bench']}" + (f" (sha256 {g['bench_sha256'][:12]})" if g["bench_sha256"] else "")
        out += [title.replace("|", "\\|"), ""]
        if not g["ranked"]:
            out += ["_Not ranked: no benchmark hash recorded._", ""]
        out += _md_table(["rank", "model", "safety % [95% CI]", "n", "mean ASR %", "adaptive ASR %", "invalid",
                          "errors"],
                         [[e["rank"] or "-", e["label"], fmt_rate(e["safety"]), e["safety"]["n"],
                           fmt_rate(e["mean_asr"]), fmt_rate(e["adaptive"]), e["invalid"], e["errors"]]
                          for e in g["rows"]])
    if ctx["dims"]:
        out += ["## Safety by dimension (%)", ""]
        out += _md_table(["model", *ctx["dims"]], [[t["label"], *[fmt_rate(c) if c else "-" for c in t["cells"]]]
                                                   for t in ctx["dim_table"]])
    if ctx["attacks"]:
        out += ["## Attack success rate (%)", ""]
        out += _md_table(["model", *ctx["attacks"], "mean", "adaptive"],
                         [[t["label"], *[fmt_rate(c) if c else "-" for c in t["cells"]], fmt_rate(t["mean"]),
                           fmt_rate(t["adaptive"])] for t in ctx["attack_table"]])
    red = ctx.get("redteam") or {}
    if red.get("rows"):
        out += ["## Adaptive red teaming: attack success rate (%) and mean queries to success", ""]
        out += _md_table(["model", "static mean ASR", *red["methods"]],
                         [[x["label"], fmt_rate(x["static"]["mean"]) if x["static"] else "-",
                           *[_red_cell(x["methods"].get(m)) for m in red["methods"]]] for x in red["rows"]])
    for st in ctx["studies"]:
        out += _md_study(st)
    return "\n".join(out)


def _red_cell(b: dict[str, Any] | None) -> str:
    if not b:
        return "-"
    q = b["mean_queries_to_success"]["total"]
    return f"{fmt_rate(b['asr'])}, {'-' if q is None else f'{q:.1f}'} queries"


def _diff(c: dict[str, Any] | None) -> str:
    if not c or c.get("diff") is None:
        return "-"
    return f"{100 * c['diff']:+.1f} [{100 * c['diff_lo']:+.1f}, {100 * c['diff_hi']:+.1f}]"


def _md_study(st: dict[str, Any]) -> list[str]:
    """One Markdown section per study (same content as the HTML section, without charts)."""
    kind = st.get("study")
    out = [f"## {str(kind).capitalize()} study: {_md_cell(st.get('target', '?'))}", ""]
    if kind == "decoding":
        out += _md_table(["temperature", "top_p", "safety %", "mean ASR %", "adaptive %", "vs. baseline", "p"],
                         [[p["temperature"], p["top_p"], fmt_rate(p["safety"]), fmt_rate(p["mean_asr"]),
                           fmt_rate(p["adaptive"]), _diff(p.get("vs_baseline")),
                           (p.get("vs_baseline") or {}).get("p_value", "-")] for p in st.get("points", [])])
    elif kind == "language":
        rows = [("all", st["pairs"]), *st.get("by_dimension", {}).items()]
        out += _md_table(["scope", "pairs", "zh safety %", "en safety %", "zh - en", "McNemar p"],
                         [[k, c["n_pairs"], fmt_rate(c["a"]), fmt_rate(c["b"]), _diff(c), f"{c['p_value']:.3g}"]
                          for k, c in rows])
    elif kind == "reasoning":
        out += _md_table(["arm", "rows", "with <think>", "safety stripped %", "safety unstripped %",
                          "stripped - unstripped", "p"],
                         [[a["name"], a["rows"], a["with_think"], fmt_rate(a["stripped"]), fmt_rate(a["unstripped"]),
                           _diff(a["strip_effect"]), f"{a['strip_effect']['p_value']:.3g}"] for a in st["arms"]])
        if st.get("cot_vs_plain"):
            out += [f"CoT - plain (stripped verdicts): {_diff(st['cot_vs_plain'])}", ""]
    return out
