"""A converted copy of a GGUF file as a Hugging Face folder, cached on disk under a key made of the file's hash.

transformers dequantises a GGUF on every load (20-60 s for SmolLM2-135M on 2 cores) and `save_pretrained`
refuses a model loaded that way, so the first load converts the state dict itself (safetensors + config +
generation config + tokenizer) and every later load reads that folder in seconds.
"""

from __future__ import annotations

import gc
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from seval.errors import SevalError
from seval.records import file_sha256

#: files that make a converted folder complete (written last, so a killed conversion is redone)
DONE = "seval-converted.txt"


def cache_root() -> Path:
    """`$SEVAL_CACHE_DIR`, else `$XDG_CACHE_HOME/seval`, else `~/.cache/seval`."""
    explicit = os.environ.get("SEVAL_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "seval"


def converted_dir(gguf: Path) -> Path:
    """Where the converted copy of this GGUF lives (keyed by the file's sha256, so a changed file converts anew)."""
    return cache_root() / "hf-gguf" / f"{gguf.stem}-{file_sha256(gguf)[:16]}"


def converted_folder(gguf: Path) -> Path:
    """The Hugging Face folder for `gguf`: the cached one, or a new conversion (written atomically)."""
    target = converted_dir(gguf)
    if (target / DONE).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    sys.stderr.write(f"seval: converting {gguf.name} once for transformers (cached in {target})\n")
    tmp = Path(tempfile.mkdtemp(prefix=".convert-", dir=target.parent))
    try:
        _convert(gguf, tmp)
        (tmp / DONE).write_text(f"converted from {gguf.name}\n", encoding="utf-8")
        if target.exists():  # an incomplete earlier attempt
            shutil.rmtree(target, ignore_errors=True)
        os.replace(tmp, target)
    except OSError as exc:
        raise SevalError(f"cannot write the converted copy of {gguf.name} under {target.parent}: {exc} "
                         "(set $SEVAL_CACHE_DIR to a writable folder)") from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def _convert(gguf: Path, out: Path) -> None:
    """Load the GGUF with transformers (dequantised to fp32) and write its state dict, config and tokenizer."""
    from functools import partial

    import transformers.modeling_gguf_pytorch_utils as gguf_utils
    from safetensors.torch import save_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if hasattr(gguf_utils, "tqdm"):  # its per-tensor bar would scribble over seval's progress line
        gguf_utils.tqdm = partial(gguf_utils.tqdm, disable=True)

    try:
        tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name,
                                                     local_files_only=True)
    except (OSError, ValueError, KeyError) as exc:
        raise SevalError(f"transformers cannot load {gguf}: {type(exc).__name__}: {str(exc)[:200]}") from None
    state = _untied(model.state_dict(), model.config)
    save_file(state, str(out / "model.safetensors"), metadata={"format": "pt"})
    model.config.save_pretrained(str(out))
    model.generation_config.save_pretrained(str(out))
    tok.save_pretrained(str(out))
    del model, state
    gc.collect()


def _untied(state: dict[str, Any], config: Any) -> dict[str, Any]:
    """Contiguous tensors with shared storage removed: a tied output head is rebuilt from the embeddings."""
    out: dict[str, Any] = {}
    seen: dict[int, str] = {}
    tied = bool(getattr(config, "tie_word_embeddings", False))
    # the output head last, so a tied head is the one dropped (the embeddings stay)
    for name, t in sorted(state.items(), key=lambda kv: "lm_head" in kv[0]):
        ptr = t.data_ptr()
        if ptr in seen:
            if not tied:  # shared storage the config does not explain: keep a real copy
                out[name] = t.detach().clone().contiguous()
            continue
        seen[ptr] = name
        out[name] = t.detach().contiguous()
    return out
