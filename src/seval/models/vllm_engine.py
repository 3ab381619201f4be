"""vLLM in process: `vllm:<model folder>`, one `vllm.LLM` engine per process and model (a Ray worker asks for one
GPU), a whole batch of cases handed to it at once so its continuous batching keeps the GPU full.

The model's chat template is applied by `LLM.chat`; GenParams map onto `SamplingParams` (temperature, top_p,
max_tokens, seed, stop, first-token logprobs). Options: `vllm:/models/m?dtype=bfloat16&max_model_len=4096`
or `-o key=value`. vLLM is imported on the first call; without it a `vllm:` target is a one-line error.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path
from typing import Any

from seval.errors import SevalError
from seval.models.base import MODELS
from seval.models.hf import InProcessBatched, split_query
from seval.records import Completion, ErrorKind, GenParams, Message, ModelCallError, Usage

OPTIONS = ("dtype", "gpu_memory_utilization", "max_model_len", "batch_size", "enforce_eager")
INSTALL_HINT = "the vllm: backend needs vLLM: pip install 'seval[vllm]' (on a machine with a GPU)"
#: engine arguments -> the process's engine (loading twice would not fit the GPU)
_ENGINES: dict[tuple[tuple[str, Any], ...], Any] = {}


def vllm_installed() -> bool:
    """Whether `import vllm` can work, without importing it (it takes seconds and initialises CUDA)."""
    if "vllm" in sys.modules:
        return sys.modules["vllm"] is not None
    try:
        return importlib.util.find_spec("vllm") is not None
    except ValueError:
        return False


def engine(args: dict[str, Any]) -> Any:
    """The process's engine for these arguments, created on first use."""
    key = tuple(sorted(args.items()))
    if key not in _ENGINES:
        try:
            from vllm import LLM
        except ImportError:
            raise SevalError(INSTALL_HINT) from None
        _ENGINES[key] = LLM(**args)
    return _ENGINES[key]


class VLLMModel(InProcessBatched):
    ray_actor_options = {"num_gpus": 1}  # noqa: RUF012  (read by the Ray executor, per class)

    def __init__(self, spec: str, path: str, dtype: str = "auto", gpu_memory_utilization: float = 0.9,
                 max_model_len: int | None = None, batch_size: int = 256, enforce_eager: bool = False) -> None:
        super().__init__(spec)
        if not vllm_installed():
            raise SevalError(INSTALL_HINT)
        p = Path(path).expanduser()
        if not p.exists():
            raise SevalError(f"model {spec!r}: {path!r} not found; vllm: takes a local model folder "
                             "(nothing is downloaded)")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise SevalError(f"model {spec!r}: batch_size must be a positive integer, got {batch_size!r}")
        self.path = p
        self.max_batch = batch_size  # cases per generate_many call; vLLM schedules them itself
        self.args: dict[str, Any] = {"model": str(p), "dtype": dtype, "gpu_memory_utilization": gpu_memory_utilization,
                                     "enforce_eager": bool(enforce_eager)}
        if max_model_len is not None:
            self.args["max_model_len"] = int(max_model_len)

    def config(self) -> dict[str, Any]:
        return {"spec": self.spec, "model": self.path.name, "dtype": self.args["dtype"],
                "max_model_len": self.args.get("max_model_len"), "batch_size": self.max_batch}

    def _sampling(self, params: GenParams) -> Any:
        from vllm import SamplingParams

        return SamplingParams(temperature=params.temperature, top_p=params.top_p, max_tokens=params.max_tokens,
                              seed=params.seed, stop=list(params.stop or []) or None,
                              logprobs=5 if params.logprobs else None)

    def _call_many(self, batch: list[list[Message]], params: GenParams) -> list[Completion | ModelCallError]:
        llm = engine(self.args)
        sampling = self._sampling(params)
        t0 = time.perf_counter()
        try:
            outs = llm.chat(batch, sampling_params=sampling, use_tqdm=False)
        except ValueError:  # one prompt too long fails the whole call: answer them one by one to isolate it
            return [self._one(llm, m, sampling) for m in batch]
        latency = time.perf_counter() - t0
        return [self._completion(o, latency) for o in outs]

    def _one(self, llm: Any, messages: list[Message], sampling: Any) -> Completion | ModelCallError:
        t0 = time.perf_counter()
        try:
            out = llm.chat([messages], sampling_params=sampling, use_tqdm=False)[0]
        except ValueError as exc:
            return ModelCallError(ErrorKind.BAD_REQUEST, str(exc)[:300])
        return self._completion(out, time.perf_counter() - t0)

    def _completion(self, out: Any, latency: float) -> Completion:
        c = out.outputs[0]
        first = None
        if c.logprobs:
            first = {(lp.decoded_token or str(tid)): float(lp.logprob) for tid, lp in c.logprobs[0].items()}
        return Completion(text=c.text, model=self.path.name, finish_reason=c.finish_reason,
                          usage=Usage(len(out.prompt_token_ids or []), len(c.token_ids)), latency_s=latency,
                          first_token_logprobs=first)


@MODELS.register("vllm")
def _vllm(spec: str, rest: str, **options: Any) -> VLLMModel:
    name, opts = split_query(spec, rest, options, OPTIONS)
    return VLLMModel(spec, name, **opts)
