#!/usr/bin/env bash
# Installs seval with every extra the tests use, type-checks src/ with mypy, then runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
# CPU torch from the local wheel first, so no dependency pulls a CUDA build
python3 -m pip install -q torch==2.13.0
# portable llama.cpp build: -march=native crashes on CPUs with AMX inside some sandboxes; the ray extra (plain
# Ray, no torch) runs the Ray executor's tests; hf (transformers) runs the hf: backend on the packaged SmolLM2
CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON}" \
  python3 -m pip install -q -e ".[local,embed,dev,ray,hf]"
# types first: src/ checked by mypy ([tool.mypy] in pyproject.toml; strict on the call policy and registry)
python3 -m mypy
python3 -m pytest -q "$@"
