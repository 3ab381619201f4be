"""Parallel sequences for in-process llama.cpp models: several prompts decoded in one forward pass per step.

llama-cpp-python's high-level API generates one sequence at a time. This decoder uses the low-level batch
API on a second context over the same weights (one KV cell pool shared by `n_seq` sequences): the prompts
are prefilled together, then every step decodes one token for each unfinished sequence in a single
`llama_decode`. On CPU that turns n matrix-vector products into one matrix-matrix product, which reads the
weights once instead of n times. Sampling is greedy at temperature 0 (the benchmark default), otherwise
temperature + top-p from a seeded generator.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class SeqResult:
    tokens: list[int]
    text: str
    finish_reason: str  # stop | length | error
    prompt_tokens: int
    error: str | None = None


class BatchedDecoder:
    """Owns a llama context with `n_seq` parallel sequences sharing `seq_ctx` KV cells in all."""

    def __init__(self, llm: Any, n_seq: int, seq_ctx: int, n_threads: int) -> None:
        import llama_cpp as lc

        self.lc = lc
        self.llm = llm
        self.n_seq = n_seq
        self.seq_ctx = seq_ctx
        # the single-sequence context's settings (KV types, ubatch...), but flash attention left to llama.cpp
        # ("auto"): with many sequences it halves the decode time on CPU. Greedy answers then match the
        # one-at-a-time ones on most prompts; a near-tie can flip a token (different summation order).
        p = type(llm.context_params).from_buffer_copy(llm.context_params)
        p.flash_attn_type = lc.llama_context_default_params().flash_attn_type
        p.n_ctx = seq_ctx  # one pool of KV cells (kv_unified): the batch's prompts and answers must fit in all
        p.n_batch = seq_ctx  # every prompt prefilled in one llama_decode (split into ubatches inside)
        p.n_seq_max = n_seq
        p.kv_unified = True
        p.n_threads = n_threads
        p.n_threads_batch = n_threads
        p.no_perf = True
        self.n_batch = p.n_batch
        self.ctx = lc.llama_init_from_model(llm._model.model, p)
        if not self.ctx:
            raise RuntimeError("llama.cpp could not create a batched context")
        self.batch = lc.llama_batch_init(self.n_batch, 0, n_seq)
        self.vocab = lc.llama_model_get_vocab(llm._model.model)
        self.n_vocab = llm.n_vocab()

    def close(self) -> None:
        if self.ctx:
            self.lc.llama_batch_free(self.batch)
            self.lc.llama_free(self.ctx)
            self.ctx = None

    def _add(self, token: int, pos: int, seq: int, logits: bool) -> int:
        b = self.batch
        i = b.n_tokens
        b.token[i] = token
        b.pos[i] = pos
        b.n_seq_id[i] = 1
        b.seq_id[i][0] = seq
        b.logits[i] = logits
        b.n_tokens = i + 1
        return i

    def _decode(self) -> None:
        rc = self.lc.llama_decode(self.ctx, self.batch)
        if rc != 0:
            raise RuntimeError(f"llama_decode failed ({rc})")

    def _logits(self, i: int) -> np.ndarray:
        ptr = self.lc.llama_get_logits_ith(self.ctx, i)
        return np.ctypeslib.as_array(ctypes.cast(ptr, ctypes.POINTER(ctypes.c_float)), shape=(self.n_vocab,))

    def generate(self, prompts: list[list[int]], max_tokens: int, temperature: float = 0.0, top_p: float = 1.0,
                 seed: int | None = 0, stops: list[str] | None = None) -> list[SeqResult]:
        """Decode up to `n_seq` tokenised prompts together."""
        assert len(prompts) <= self.n_seq
        lc = self.lc
        lc.llama_memory_clear(lc.llama_get_memory(self.ctx), True)
        rng = np.random.default_rng(seed)
        n = len(prompts)
        out: list[list[int]] = [[] for _ in range(n)]
        finish: list[str | None] = [None] * n
        errors: list[str | None] = [None] * n
        pos = [0] * n
        last_idx: dict[int, int] = {}  # seq -> batch index of its logits after the last decode
        for s, toks in enumerate(prompts):
            if not toks or len(toks) >= self.seq_ctx:
                finish[s], errors[s] = "error", (f"prompt of {len(toks)} tokens does not fit the "
                                                 f"{self.seq_ctx}-token context")
        # prefill: every prompt in one batch; logits only for each prompt's last token
        self.batch.n_tokens = 0
        for s, toks in enumerate(prompts):
            if finish[s] is not None:
                continue
            for j, t in enumerate(toks):
                idx = self._add(t, j, s, j == len(toks) - 1)
            last_idx[s] = idx
            pos[s] = len(toks)
        if self.batch.n_tokens:
            self._decode()
        stops = [x for x in (stops or []) if x]
        texts = [""] * n
        while True:
            self.batch.n_tokens = 0
            active = [s for s in range(n) if finish[s] is None]
            if not active:
                break
            picks: dict[int, int] = {}
            for s in active:
                logits = self._logits(last_idx[s])
                picks[s] = self._sample(logits, temperature, top_p, rng)
            for s in active:
                tok = picks[s]
                if lc.llama_vocab_is_eog(self.vocab, tok):
                    finish[s] = "stop"
                    continue
                out[s].append(tok)
                if stops:
                    texts[s] = self.llm.detokenize(out[s]).decode("utf-8", "ignore")
                    if any(x in texts[s] for x in stops):
                        finish[s] = "stop"
                        continue
                if len(out[s]) >= max_tokens or pos[s] + 1 >= self.seq_ctx:
                    finish[s] = "length"
                    continue
                last_idx[s] = self._add(tok, pos[s], s, True)
                pos[s] += 1
            if self.batch.n_tokens:
                self._decode()
        results = []
        for s in range(n):
            text = self.llm.detokenize(out[s]).decode("utf-8", "ignore")
            for x in stops:
                if x in text:
                    text = text[:text.index(x)]
            results.append(SeqResult(out[s], text, finish[s] or "stop", len(prompts[s]), errors[s]))
        return results

    @staticmethod
    def _sample(logits: np.ndarray, temperature: float, top_p: float, rng: np.random.Generator) -> int:
        if temperature <= 0:
            return int(np.argmax(logits))
        z = logits.astype(np.float64) / temperature
        z -= z.max()
        p = np.exp(z)
        p /= p.sum()
        if top_p < 1.0:
            order = np.argsort(-p)
            keep = order[: int(np.searchsorted(np.cumsum(p[order]), top_p) + 1)]
            q = np.zeros_like(p)
            q[keep] = p[keep]
            p = q / q.sum()
        return int(rng.choice(len(p), p=p))
