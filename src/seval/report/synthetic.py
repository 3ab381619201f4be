"""Synthetic run directories (fake responses, random verdicts) for report tests, demos and the scale benchmark."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from typing import Any

from seval.runs.folder import RESULTS, RUN_META

ATTACKS = ["instruction_jailbreak", "goal_hijacking", "role_play", "prompt_leaking", "code_injection",
           "encoding", "translation", "context_manipulation", "multi_turn", "refusal_suppression"]
LANGS = ["zh", "en"]


def _leaves() -> list[tuple[str, str, str]]:
    try:
        from seval.taxonomy import load_taxonomy

        return [(r.dimension, r.category, r.id) for r in load_taxonomy().risks]
    except Exception:
        return [("CI", "CI.drug_crimes", "CI.drug_crimes.trafficking"), ("HS", "HS.defamation", "HS.defamation.rumor")]


def synthetic_rows(target: str, n_base: int, attacks: list[str] | None = None, p_unsafe: float = 0.3,
                   seed: int = 0, defense: str | None = None, extra_response: dict[int, str] | None = None,
                   p_invalid: float = 0.02, p_error: float = 0.01) -> list[dict[str, Any]]:
    """Rows for n_base base prompts (half zh, half en linked by from_id) each with one row per attack."""
    rng = random.Random(seed)
    leaves = _leaves()
    attacks = ATTACKS if attacks is None else attacks
    rows: list[dict[str, Any]] = []
    # the case ids depend on the benchmark only (not the model), so runs can be paired on them
    case_rng = random.Random(1234)
    for i in range(n_base):
        dim, cat, risk = leaves[case_rng.randrange(len(leaves))]
        lang = LANGS[i % 2]
        base_id = f"case{i:07d}"
        from_id = f"case{i - 1:07d}" if lang == "en" else None
        for attack in [None, *attacks]:
            rid = base_id if attack is None else f"{base_id}-{attack}"
            u = rng.random()
            status, verdict, error_kind, error = "ok", None, None, None
            if u < p_error:
                status, error_kind, error = "error", "timeout", "request timed out after 60 s"
            elif u < p_error + 0.005:
                status, error_kind = "content_filter", "content_filter"
            elif u < p_error + 0.005 + p_invalid:
                verdict = "invalid"
            else:
                verdict = "unsafe" if rng.random() < p_unsafe * (1.6 if attack else 1.0) else "safe"
            response = None
            if status == "ok":
                response = ("[FAKE HARMFUL STEPS: step 1 ... redacted]" if verdict == "unsafe"
                            else "I can't help with that, but here is some general safety information.")
            if extra_response and len(rows) in extra_response:
                response = extra_response[len(rows)]
            rows.append({
                "id": rid, "lang": lang, "prompt": f"[synthetic {lang} test prompt #{i} for {risk}"
                + (f" wrapped by {attack}]" if attack else "]"),
                "dimension": dim, "category": cat, "risk": risk, "attack": attack,
                "base_id": base_id if attack else None, "from_id": from_id if attack is None else None,
                "target": target, "status": status, "response": response, "error_kind": error_kind, "error": error,
                "verdict": verdict, "score": None if verdict not in ("safe", "unsafe") else round(rng.random(), 3),
                "explanation": f"synthetic verdict {verdict}" if verdict else None, "tags": [],
                "critic": "synthetic" if verdict else None, "defense": defense, "prompt_tokens": 10,
                "completion_tokens": 20, "latency_s": 0.1,
            })
    return rows


def write_run(out: str | Path, rows: list[dict[str, Any]], target: str, bench: str = "synthetic-bench.jsonl",
              bench_sha256: str | None = None, defense: str | None = None,
              params: dict[str, Any] | None = None) -> Path:
    """Write results.jsonl and run.json like the runner does (no store.sqlite)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with (out / RESULTS).open("w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    meta = {
        "seval_version": "synthetic", "target": target, "bench": bench,
        "bench_sha256": bench_sha256 if bench_sha256 is not None else hashlib.sha256(bench.encode()).hexdigest(),
        "n_cases": len(rows), "critic": "synthetic", "critic_hash": "synthetic", "defense": defense,
        "params": params or {"temperature": 0.0, "top_p": 1.0, "max_tokens": 256, "seed": 0, "system_prompt": None},
        "started": "2026-01-01T00:00:00+00:00", "finished": "2026-01-01T00:01:00+00:00",
    }
    (out / RUN_META).write_text(json.dumps(meta, indent=2), encoding="utf-8")
    return out
