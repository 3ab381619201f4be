"""In-process Hugging Face transformers models: `hf:<folder>`, `hf:<file.gguf>` or `hf:smollm2` (packaged).

Batches are generated together (left padding, the model's chat template, each row stopped at EOS). dtype and
device are chosen when the model loads (CUDA when present; bf16 on a CPU with native bf16 units, else fp32)
and can be set: `hf:smollm2?dtype=float32&batch_size=16` or `-o dtype=bf16`. A GGUF is converted once into a
cached folder (seval.models.hf_cache). Nothing is fetched from a hub: HF_HUB_OFFLINE is set before loading.
torch and transformers are imported on the first call, never when seval is imported.
"""

from __future__ import annotations

import asyncio
import os
import time
from abc import abstractmethod
from pathlib import Path
from typing import Any

from seval.errors import SevalError
from seval.models.base import MODELS, ModelBackend
from seval.models.llama_cpp import check_options
from seval.records import Completion, ErrorKind, GenParams, Message, ModelCallError, Usage
from seval.spec import parse_pairs

#: options an hf: model takes (`?key=value` in the spec or `-o key=value`)
OPTIONS = ("dtype", "device", "batch_size", "n_threads")
DTYPES = {"auto": "auto", "float32": "float32", "fp32": "float32", "bfloat16": "bfloat16", "bf16": "bfloat16",
          "float16": "float16", "fp16": "float16"}
INSTALL_HINT = "pip install 'seval[hf]' (torch, transformers, gguf, accelerate)"


def packaged_models() -> dict[str, Any]:
    """Names that stand for a model shipped in a package (found without importing it)."""
    from seval.models.local import smollm2_path

    return {"smollm2": smollm2_path}


def fast_cpu_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AVX512-BF16 or AMX): only then is bf16 faster than fp32."""
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        flags = ""
    if any(f in flags.split() for f in ("avx512_bf16", "amx_bf16")):
        return True
    import torch

    return "AMX" in str(torch.backends.cpu.get_cpu_capability()).upper()


def pick_device_dtype(device: str, dtype: str) -> tuple[str, str]:
    """'auto' -> CUDA when present, else CPU; bf16 (CUDA with bf16, or a CPU with bf16 units), fp16, or fp32."""
    import torch

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if dtype == "auto":
        if device.startswith("cuda"):
            dtype = "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
        else:
            dtype = "bfloat16" if fast_cpu_bf16() else "float32"
    return device, dtype


def resolve_source(spec: str, name: str) -> tuple[Path, str]:
    """`name` -> (path, kind) with kind 'folder' or 'gguf'; anything else is a one-line error (no download)."""
    finder = packaged_models().get(name)
    if finder is not None:
        return finder(), "gguf"
    p = Path(name).expanduser()
    if p.is_file() and p.suffix.lower() == ".gguf":
        return p, "gguf"
    if p.is_dir() and (p / "config.json").is_file():
        return p, "folder"
    what = "a folder without config.json" if p.is_dir() else "not found"
    raise SevalError(f"model {spec!r}: {name!r} is {what}; hf: takes a local Hugging Face folder, a .gguf file "
                     f"or one of {', '.join(sorted(packaged_models()))} (nothing is downloaded)")


class InProcessBatched(ModelBackend):
    """An in-process model that answers whole batches in a worker thread (`_call_many`), one batch at a time."""

    default_concurrency = 1

    def __init__(self, spec: str) -> None:
        super().__init__(spec)
        self._lock = asyncio.Lock()

    @abstractmethod
    def _call_many(self, batch: list[list[Message]], params: GenParams) -> list[Completion | ModelCallError]: ...

    async def _generate(self, messages: list[Message], params: GenParams) -> Completion:
        res = (await self._generate_many([messages], params))[0]
        if isinstance(res, ModelCallError):
            raise res
        return res

    async def _generate_many(self, batch: list[list[Message]],
                            params: GenParams) -> list[Completion | ModelCallError]:
        if any(not m for m in batch):
            raise SevalError("cannot call a model with no messages")
        async with self._lock:
            return await asyncio.to_thread(self._call_many, batch, params)


class HFModel(InProcessBatched):

    def __init__(self, spec: str, source: str, dtype: str = "auto", device: str = "auto", batch_size: int = 32,
                 n_threads: int | None = None, label: str | None = None) -> None:
        super().__init__(spec)
        if str(dtype).lower() not in DTYPES:
            raise SevalError(f"model {spec!r}: unknown dtype {dtype!r}; valid: {', '.join(DTYPES)}")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise SevalError(f"model {spec!r}: batch_size must be a positive integer, got {batch_size!r}")
        self.path, self.kind = resolve_source(spec, source)
        self.dtype = DTYPES[str(dtype).lower()]
        self.device = str(device).lower()
        if self.device != "auto" and not self.device.startswith(("cpu", "cuda")):
            raise SevalError(f"model {spec!r}: unknown device {device!r}; valid: auto, cpu, cuda, cuda:N")
        self.max_batch = batch_size
        self.n_threads = n_threads
        self.label = label or self.path.name
        if self.device.startswith("cuda"):
            self.ray_actor_options = {"num_gpus": 1}
        self._model: Any = None
        self._tok: Any = None
        self._eos: set[int] = set()
        #: what the first load chose and how long it took (for benches and run.json)
        self.loaded: dict[str, Any] = {}

    def config(self) -> dict[str, Any]:
        # the requested (not the resolved) dtype and device: a Ray driver without a GPU must hash like its workers
        size = self.path.stat().st_size if self.kind == "gguf" else sum(
            f.stat().st_size for f in self.path.iterdir() if f.suffix in (".safetensors", ".bin"))
        return {"spec": self.spec, "file": self.path.name, "size": size, "dtype": self.dtype, "device": self.device,
                "batch_size": self.max_batch}

    # ---- loading -----------------------------------------------------------------------------------------
    def _load(self) -> Any:
        if self._model is not None:
            return self._model
        os.environ["HF_HUB_OFFLINE"] = "1"  # never reach a hub, whatever the user's environment says
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        t0 = time.perf_counter()
        try:
            import torch
            import transformers
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError:
            raise SevalError(f"the hf: backend needs torch and transformers: {INSTALL_HINT}") from None
        transformers.utils.logging.set_verbosity_error()
        transformers.utils.logging.disable_progress_bar()
        if self.n_threads:
            torch.set_num_threads(int(self.n_threads))
        device, dtype = pick_device_dtype(self.device, self.dtype)
        folder = self.path
        if self.kind == "gguf":
            from seval.models.hf_cache import converted_folder

            folder = converted_folder(self.path)
        try:
            tok = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
            model: Any = AutoModelForCausalLM.from_pretrained(str(folder), dtype=getattr(torch, dtype),
                                                         local_files_only=True)
        except (OSError, ValueError) as exc:
            raise SevalError(f"cannot load {self.path}: {type(exc).__name__}: {str(exc)[:200]}") from None
        if not tok.chat_template:
            raise SevalError(f"{self.path} has no chat template (tokenizer_config.json): seval sends chats")
        tok.padding_side = "left"
        if tok.pad_token_id is None:
            tok.pad_token = tok.eos_token
        model = model.to(device).eval()
        eos = model.generation_config.eos_token_id
        self._eos = {int(e) for e in (eos if isinstance(eos, list) else [eos]) if e is not None}
        if tok.eos_token_id is not None:
            self._eos.add(int(tok.eos_token_id))
        self._tok, self._model = tok, model
        self.loaded = {"device": device, "dtype": dtype, "load_s": round(time.perf_counter() - t0, 2),
                       "folder": str(folder)}
        return model

    # ---- generation --------------------------------------------------------------------------------------
    def _call_many(self, batch: list[list[Message]], params: GenParams) -> list[Completion | ModelCallError]:
        model = self._load()
        texts = [self._tok.apply_chat_template(m, add_generation_prompt=True, tokenize=False) for m in batch]
        ids = [self._tok(t, add_special_tokens=False)["input_ids"] for t in texts]
        limit = getattr(model.config, "max_position_embeddings", None)
        out: list[Completion | ModelCallError | None] = [None] * len(batch)
        fits = []
        for i, row in enumerate(ids):
            if limit and len(row) + params.max_tokens > limit:
                out[i] = ModelCallError(ErrorKind.BAD_REQUEST, f"prompt of {len(row)} tokens + {params.max_tokens} "
                                        f"new ones exceeds the model's {limit}-token context")
            else:
                fits.append(i)
        fits.sort(key=lambda i: len(ids[i]))  # similar lengths together: less padding
        for start in range(0, len(fits), self.max_batch):
            group = fits[start:start + self.max_batch]
            for i, res in zip(group, self._decode([ids[i] for i in group], params), strict=True):
                out[i] = res
        return [o if o is not None else ModelCallError(ErrorKind.OTHER, "not decoded") for o in out]

    def _decode(self, rows: list[list[int]], params: GenParams) -> list[Completion]:
        import torch
        from transformers import GenerationConfig

        model, tok = self._model, self._tok
        t0 = time.perf_counter()
        enc = tok.pad({"input_ids": rows}, padding=True, return_tensors="pt").to(model.device)
        sample = params.temperature > 0
        gen = GenerationConfig(max_new_tokens=params.max_tokens, do_sample=sample,
                               temperature=params.temperature if sample else None,
                               top_p=params.top_p if sample else None, top_k=None,
                               pad_token_id=tok.pad_token_id, eos_token_id=sorted(self._eos),
                               output_scores=params.logprobs, return_dict_in_generate=True)
        extra: dict[str, Any] = {}
        if params.stop:
            extra = {"stop_strings": list(params.stop), "tokenizer": tok}
        if sample and params.seed is not None:
            torch.manual_seed(params.seed)
        with torch.inference_mode():
            res = model.generate(**enc, generation_config=gen, **extra)
        latency = time.perf_counter() - t0
        width = enc["input_ids"].shape[1]
        new = res.sequences[:, width:].tolist()
        prompt_lens = enc["attention_mask"].sum(dim=1).tolist()
        first = self._first_logprobs(res.scores[0]) if params.logprobs and res.scores else None
        outs = []
        for r, toks in enumerate(new):
            cut = next((j for j, t in enumerate(toks) if t in self._eos), None)
            kept = toks if cut is None else toks[:cut]
            text = tok.decode(kept, skip_special_tokens=True)
            reason = "stop" if cut is not None else "length"
            for s in params.stop or []:
                if s in text:
                    text, reason = text[:text.index(s)], "stop"
            outs.append(Completion(text=text, model=self.label, finish_reason=reason,
                                   usage=Usage(int(prompt_lens[r]), len(kept) + (cut is not None)),
                                   latency_s=latency, first_token_logprobs=first[r] if first else None))
        return outs

    def _first_logprobs(self, scores: Any) -> list[dict[str, float]]:
        """Each row's five most likely first tokens with their log-probabilities."""
        import torch

        lp = torch.log_softmax(scores.float(), dim=-1)
        top = torch.topk(lp, k=min(5, lp.shape[-1]), dim=-1)
        return [{self._tok.decode([int(t)]): float(v) for t, v in zip(ti, vi, strict=True)}
                for ti, vi in zip(top.indices.tolist(), top.values.tolist(), strict=True)]

    async def aclose(self) -> None:
        self._model = self._tok = None


def split_query(spec: str, rest: str, options: dict[str, Any], allowed: tuple[str, ...]) -> tuple[str, dict[str, Any]]:
    """`name?key=value&...` -> (name, options): the spec's own options first, `-o` ones override them."""
    name, qmark, query = rest.partition("?")
    opts = parse_pairs(query.split("&"), "model", spec, allowed, lower_keys=True) if qmark else {}
    check_options(spec, {**opts, **options}, allowed)
    if not name.strip():
        raise SevalError(f"model {spec!r}: name a model after the ':' (a local folder or file)")
    return name.strip(), {**opts, **options}


@MODELS.register("hf")
def _hf(spec: str, rest: str, **options: Any) -> HFModel:
    name, opts = split_query(spec, rest, options, OPTIONS)
    return HFModel(spec, name, **opts)
