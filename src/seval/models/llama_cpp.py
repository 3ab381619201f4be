"""In-process GGUF models with llama-cpp-python: `llama-cpp:<path to .gguf>`.

One model instance answers one request at a time (llama.cpp contexts are not thread-safe), so calls are
serialised on a lock and run in a worker thread to keep the event loop free.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

from seval.errors import SevalError
from seval.models.base import MODELS, ModelBackend
from seval.records import Completion, ErrorKind, GenParams, Message, ModelCallError, Usage


class LlamaCpp(ModelBackend):
    default_concurrency = 1

    def __init__(self, spec: str, path: str, n_ctx: int = 2048, n_threads: int | None = None,
                 label: str | None = None) -> None:
        super().__init__(spec)
        p = Path(path).expanduser()
        if not p.is_file():
            raise SevalError(f"GGUF file not found: {path}")
        self.path = p
        self.n_ctx = n_ctx
        self.n_threads = n_threads or max(1, os.cpu_count() or 1)
        self.label = label or p.name
        self._llm: Any = None
        self._lock = asyncio.Lock()

    def config(self) -> dict[str, Any]:
        # the file name and size identify the weights without hashing 100s of MB
        return {"spec": self.spec, "file": self.path.name, "size": self.path.stat().st_size, "n_ctx": self.n_ctx}

    def _load(self) -> Any:
        if self._llm is None:
            try:
                from llama_cpp import Llama
            except ImportError:
                raise SevalError("llama-cpp-python is not installed: pip install 'seval[local]'") from None
            self._llm = Llama(model_path=str(self.path), n_ctx=self.n_ctx, n_threads=self.n_threads,
                              verbose=False, logits_all=False)
        return self._llm

    def _call(self, messages: list[Message], params: GenParams) -> Completion:
        llm = self._load()
        t0 = time.perf_counter()
        kwargs: dict[str, Any] = dict(messages=messages, temperature=params.temperature, top_p=params.top_p,
                                      max_tokens=params.max_tokens, stop=params.stop or None)
        if params.seed is not None:
            kwargs["seed"] = params.seed
        if params.logprobs:
            kwargs["logprobs"] = True
            kwargs["top_logprobs"] = 5
        try:
            out = llm.create_chat_completion(**kwargs)
        except ValueError as exc:  # e.g. prompt longer than the context window
            raise ModelCallError(ErrorKind.BAD_REQUEST, str(exc)[:300]) from None
        choice = out["choices"][0]
        usage = out.get("usage") or {}
        first: dict[str, float] | None = None
        lp = choice.get("logprobs")
        if isinstance(lp, dict) and lp.get("content"):
            tok0 = lp["content"][0]
            first = {a["token"]: float(a["logprob"]) for a in tok0.get("top_logprobs") or []}
        return Completion(text=choice["message"].get("content") or "", model=self.label,
                          finish_reason=choice.get("finish_reason"),
                          usage=Usage(int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0))),
                          latency_s=time.perf_counter() - t0, first_token_logprobs=first)

    async def _generate(self, messages: list[Message], params: GenParams) -> Completion:
        async with self._lock:
            return await asyncio.to_thread(self._call, messages, params)

    async def aclose(self) -> None:
        llm, self._llm = self._llm, None
        if llm is not None and hasattr(llm, "close"):
            llm.close()


@MODELS.register("llama-cpp")
def _llama_cpp(spec: str, rest: str, **options: Any) -> LlamaCpp:
    return LlamaCpp(spec, rest, **options)
