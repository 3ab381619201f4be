"""In-process GGUF models with llama-cpp-python: `llama-cpp:<path to .gguf>`.

One model instance answers one request at a time (llama.cpp contexts are not thread-safe), so calls are
serialised on a lock and run in a worker thread to keep the event loop free. `generate_many` decodes up to
`batch_size` prompts together as parallel sequences (seval.models.llama_batch), which the runner uses for
whole groups of test cases.
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
                 label: str | None = None, batch_size: int = 16, batch_ctx: int = 4096) -> None:
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
        self.max_batch = max(1, batch_size)  # prompts per generate_many call (1: no batching)
        self.batch_ctx = batch_ctx  # KV cells shared by the sequences of one batch
        self._decoder: Any = None
        self._formatter: Any = None

    def config(self) -> dict[str, Any]:
        # the file name and size identify the weights without hashing 100s of MB
        # batched decoding can change greedy answers slightly (kernel numerics), so the batch size is part of it
        return {"spec": self.spec, "file": self.path.name, "size": self.path.stat().st_size, "n_ctx": self.n_ctx,
                "batch_size": self.max_batch}

    def _load(self) -> Any:
        if self._llm is None:
            # llama.cpp's OpenMP threads spin while waiting; on a shared or small machine that starves
            # everything else (and itself), so wait passively unless the user chose otherwise
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
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

    # ---- batches: parallel sequences ---------------------------------------------------------------------
    def _prompt_tokens(self, messages: list[Message]) -> tuple[list[int], list[str]]:
        """The chat template from the GGUF (as create_chat_completion applies it), tokenised; and its stops."""
        llm = self._load()
        if self._formatter is None:
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            template = llm.metadata.get("tokenizer.chat_template")
            if not template:
                raise ModelCallError(ErrorKind.BAD_REQUEST, "the GGUF has no chat template: cannot batch")
            eos, bos = llm.token_eos(), llm.token_bos()
            self._formatter = Jinja2ChatFormatter(
                template=template, eos_token=llm._model.token_get_text(eos) if eos != -1 else "",
                bos_token=llm._model.token_get_text(bos) if bos != -1 else "", stop_token_ids=[eos])
        res = self._formatter(messages=messages)
        toks = llm.tokenize(res.prompt.encode("utf-8"), add_bos=not res.added_special, special=True)
        stops = res.stop if isinstance(res.stop, list) else ([res.stop] if res.stop else [])
        return toks, stops

    def _call_many(self, batch: list[list[Message]], params: GenParams) -> list[Completion | ModelCallError]:
        from seval.models.llama_batch import BatchedDecoder

        llm = self._load()
        if self._decoder is None:
            self._decoder = BatchedDecoder(llm, self.max_batch, self.batch_ctx, self.n_threads)
        prepared = [self._prompt_tokens(m) for m in batch]
        out: list[Completion | ModelCallError | None] = [None] * len(batch)
        # pack sequences while their prompts plus answers fit the shared KV cells; the rest go one at a time
        group: list[int] = []
        used = 0
        order = list(range(len(batch)))
        for i in [*order, None]:
            need = len(prepared[i][0]) + params.max_tokens if i is not None else 0
            if i is None or (group and (used + need > self.batch_ctx or len(group) >= self.max_batch)):
                if group:
                    self._decode_group(group, prepared, params, out)
                group, used = [], 0
            if i is None:
                break
            if need > self.batch_ctx:
                try:
                    out[i] = self._call(batch[i], params)
                except ModelCallError as exc:
                    out[i] = exc
                continue
            group.append(i)
            used += need
        return [o if o is not None else ModelCallError(ErrorKind.OTHER, "not decoded") for o in out]

    def _decode_group(self, group: list[int], prepared: list[tuple[list[int], list[str]]], params: GenParams,
                      out: list[Completion | ModelCallError | None]) -> None:
        t0 = time.perf_counter()
        stops = sorted({s for i in group for s in prepared[i][1]} | set(params.stop or []))
        results = self._decoder.generate([prepared[i][0] for i in group], params.max_tokens,
                                         temperature=params.temperature, top_p=params.top_p, seed=params.seed,
                                         stops=stops)
        latency = time.perf_counter() - t0
        for i, r in zip(group, results, strict=True):
            if r.error:
                out[i] = ModelCallError(ErrorKind.BAD_REQUEST, r.error)
                continue
            out[i] = Completion(text=r.text, model=self.label, finish_reason=r.finish_reason,
                                usage=Usage(r.prompt_tokens, len(r.tokens)), latency_s=latency)

    async def _generate_many(self, batch: list[list[Message]],
                            params: GenParams) -> list[Completion | ModelCallError]:
        """Parallel sequences when there are several prompts (no logprobs); otherwise one at a time."""
        if self.max_batch <= 1 or len(batch) <= 1 or params.logprobs:
            return await super()._generate_many(batch, params)
        async with self._lock:
            return await asyncio.to_thread(self._call_many, batch, params)

    async def aclose(self) -> None:
        dec, self._decoder = self._decoder, None
        if dec is not None:
            dec.close()
        llm, self._llm = self._llm, None
        if llm is not None and hasattr(llm, "close"):
            llm.close()


#: the options an in-process llama.cpp model takes (model options / `-o key=value`)
OPTIONS = ("n_ctx", "n_threads", "batch_size", "batch_ctx")


def check_options(spec: str, options: dict[str, Any], allowed: tuple[str, ...] = OPTIONS) -> None:
    """Reject what an in-process model cannot honour, by name: `timeout` (nothing to time out) and typos."""
    if "timeout" in options:
        raise SevalError(f"--timeout does not apply to {spec!r}: it runs in this process, so there is no request "
                         "to time out; leave --timeout out (it is for HTTP endpoints)")
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise SevalError(f"model {spec!r}: unknown option(s) {', '.join(unknown)}; valid: {', '.join(allowed)}")


@MODELS.register("llama-cpp")
def _llama_cpp(spec: str, rest: str, **options: Any) -> LlamaCpp:
    check_options(spec, options)
    return LlamaCpp(spec, rest, **options)
