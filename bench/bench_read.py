"""Reads a synthetic 110,000-line S-Eval-format file (zipped and not) and prints time and peak memory.

    python bench/bench_read.py [--lines 110000]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import tempfile
import time
import zipfile
from pathlib import Path

ATTACKS = ["positive_induction", "reverse_induction", "code_injection", "instruction_jailbreak", "goal_hijacking",
           "instruction_encryption", "deepinception", "in_context_attack", "chain_of_utterances",
           "compositional_instructions"]
DIMS = ["Crimes_and_Illegal_Activities", "Cybersecurity", "Data_Privacy", "Ethics_and_Morality",
        "Physical_and_Mental_Health", "Hate_Speech", "Extremism", "Inappropriate_Suggestions"]


def make_file(path: Path, lines: int) -> None:
    rng = random.Random(0)
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(lines):
            base = i % 11 == 0
            ext = {"model": "base_risk"} if base else {"model": "attack", "category": rng.choice(ATTACKS)}
            prompt = f"Synthetic test prompt number {i} " + "padding text " * rng.randint(5, 60)
            fh.write(json.dumps({"traceid": f"{i:032x}", "risk_type": rng.choice(DIMS), "prompt": prompt,
                                 "ext": json.dumps(ext)}) + "\n")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=110_000)
    args = ap.parse_args()
    from seval.io import read_cases
    from seval.taxonomy import load_taxonomy

    load_taxonomy()
    list(read_cases(Path(__file__).resolve().parents[1] / "tests/fixtures/seval_sample_en.jsonl"))  # warm imports
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "S-Eval_attack_set_en_full.jsonl"
        make_file(src, args.lines)
        zipped = Path(d) / "S-Eval_attack_set_en_full.jsonl.zip"
        with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.write(src, src.name)
        size_mb = src.stat().st_size / 1e6
        before = peak_mb()
        for f in (src, zipped):
            t0 = time.perf_counter()
            n = sum(1 for _ in read_cases(f))
            dt = time.perf_counter() - t0
            print(f"{f.name}: {n} cases in {dt:.2f} s ({n / dt:,.0f}/s)")
        print(f"file size {size_mb:.1f} MB; peak RSS before reading {before:.0f} MB, after {peak_mb():.0f} MB "
              f"(growth {peak_mb() - before:.0f} MB: streaming, not loading the file)")


if __name__ == "__main__":
    main()
