"""How long `seval audit RUN --labels FILE` takes for a 200-row labels file on a 2,000-row run (target: < 1 s).

    python bench/bench_audit.py
Builds the run with the run pipeline (a scripted target, the rule critic), draws a 200-row sample, writes its
labels, and times the import (the store write and summary.json's audit block, bootstrap included) and a
re-import (which changes nothing).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "audit"))
from audit_run import make_run, truth_labels

from seval.api import audit_import, audit_sample


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="seval-audit-bench-"))
    run = make_run(root, n=2000)
    sample = root / "sample.jsonl"
    audit_sample(run, n=200, out=sample, seed=0)
    labels = root / "labels.jsonl"
    labels.write_text("".join(json.dumps({**x, "annotator": "bench"}) + "\n" for x in truth_labels(sample)),
                      encoding="utf-8")
    for what in ("import", "re-import"):
        t0 = time.perf_counter()
        res = audit_import(run, labels=labels)
        dt = time.perf_counter() - t0
        print(f"{what} of 200 labels into a 2,000-row run: {dt:.3f} s "
              f"(added {res['added']}, unchanged {res['unchanged']}, skipped {res['skipped']})")


if __name__ == "__main__":
    main()
