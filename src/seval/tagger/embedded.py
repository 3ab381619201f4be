"""The embedded risk tagger (`embedded`, the default): linear heads over multilingual sentence-encoder vectors.

Each prompt is encoded once by seval.text.encoders (`e5`, cached on disk); the dimension (8), category (25)
and harmfulness heads are logistic regressions on the vector, temperature- and Platt-calibrated on held-back
training rows; the leaf risk is the nearest leaf prototype (the centroid of the leaf's prompts) inside the
chosen category. Inference is numpy only. Trained by training/train_tagger.py; weights in
seval/tagger/weights/encoder_tagger.npz (+ .json).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np

from seval.errors import SevalError
from seval.tagger.base import TAGGERS, Tagger, TagResult
from seval.tagger.heads import decode, softmax
from seval.weights import read_packaged

WEIGHTS_PACKAGE = "seval.tagger.weights"
WEIGHTS_FILE = "encoder_tagger.npz"
SETTINGS_FILE = "encoder_tagger.json"
#: prompts longer than this keep their head and tail: a jailbreak wrapper's question is usually at the end
HEAD_CHARS, TAIL_CHARS = 300, 500

_SPACE = re.compile(r"\s+")


def prepare(text: str) -> str:
    """The text the encoder sees (the same at training and inference): whitespace collapsed, long prompts cut
    to their first HEAD_CHARS and last TAIL_CHARS characters."""
    t = _SPACE.sub(" ", text or "").strip() or "-"
    if len(t) > HEAD_CHARS + TAIL_CHARS:
        t = t[:HEAD_CHARS] + " … " + t[-TAIL_CHARS:]
    return t


def encode(texts: Sequence[str], encoder: str = "e5") -> np.ndarray:
    """Encoder vectors of prompts (cached; a cached prompt costs no encoder call)."""
    from seval.text.encoders import get_encoder

    return get_encoder(encoder).encode([prepare(t) for t in texts], kind="query")


@dataclass(slots=True)
class EncoderTaggerModel:
    """The heads as float32 arrays, their label lists, calibration and the encoder they read."""

    w: np.ndarray  # (dim, n_dims + n_cats + 1)
    b: np.ndarray
    leaf: np.ndarray  # (n_risks, dim), unit rows
    dims: list[str]
    cats: list[str]
    risks: list[str]
    encoder: str = "e5"
    dim_temp: float = 1.0  # temperature of the dimension head (calibration)
    cat_temp: float = 1.0
    harm_a: float = 1.0  # Platt scaling of the harm logit: sigmoid(a * z + c)
    harm_c: float = 0.0
    leaf_temp: float = 20.0
    sha256: str = ""
    info: dict[str, Any] = field(default_factory=dict)
    cat_dim: np.ndarray = field(init=False)
    risk_cat: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.cat_dim = np.array([self.dims.index(c.split(".", 1)[0]) for c in self.cats])
        self.risk_cat = np.array([self.cats.index(r.rsplit(".", 1)[0]) for r in self.risks])

    def save(self, folder: Any, meta: dict[str, Any]) -> Any:
        """Write the npz + json pair (float16 weights and prototypes, float32 biases); returns the npz path."""
        folder.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(folder / WEIGHTS_FILE, w=self.w.astype(np.float16), b=self.b.astype(np.float32),
                            leaf=self.leaf.astype(np.float16))
        info = {"encoder": self.encoder, "dimensions": self.dims, "categories": self.cats, "risks": self.risks,
                "dim_temp": self.dim_temp, "cat_temp": self.cat_temp, "harm_a": self.harm_a,
                "harm_c": self.harm_c, "leaf_temp": self.leaf_temp, **meta}
        (folder / SETTINGS_FILE).write_text(json.dumps(info, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        return folder / WEIGHTS_FILE


@cache
def load_model() -> EncoderTaggerModel:
    """The packaged weights, loaded once; a clear error when they are missing or inconsistent."""
    blob, info = read_packaged(WEIGHTS_PACKAGE, WEIGHTS_FILE, SETTINGS_FILE, "training/train_tagger.py")
    arr = np.load(io.BytesIO(blob))
    dims, cats, risks = info["dimensions"], info["categories"], info["risks"]
    w, leaf = arr["w"].astype(np.float32), arr["leaf"].astype(np.float32)
    if w.shape[1] != len(dims) + len(cats) + 1 or leaf.shape != (len(risks), w.shape[0]):
        raise SevalError(f"embedded tagger weights do not match their settings ({w.shape}, {leaf.shape})")
    return EncoderTaggerModel(w, arr["b"].astype(np.float32), leaf, dims, cats, risks, info.get("encoder", "e5"),
                              float(info.get("dim_temp", 1.0)), float(info.get("cat_temp", 1.0)),
                              float(info.get("harm_a", 1.0)), float(info.get("harm_c", 0.0)),
                              float(info.get("leaf_temp", 20.0)), hashlib.sha256(blob).hexdigest(), info)




def tag_vectors(x: np.ndarray, m: EncoderTaggerModel) -> list[TagResult]:
    """Tag prompts from their encoder vectors (n x dim)."""
    n = len(x)
    if not n:
        return []
    z = x @ m.w + m.b
    nd, nc = len(m.dims), len(m.cats)
    p_dim = softmax(z[:, :nd] / m.dim_temp)
    p_cat = softmax(z[:, nd:nd + nc] / m.cat_temp)
    harm = 1.0 / (1.0 + np.exp(-np.clip(m.harm_a * z[:, nd + nc] + m.harm_c, -30, 30)))
    return decode(p_dim, p_cat, harm, x @ m.leaf.T, m, "embedded")


def tag_texts(texts: Sequence[str], model: EncoderTaggerModel | None = None) -> list[TagResult]:
    """Tag prompts synchronously: one (cached) encoder pass, then three small matrix products."""
    if not texts:
        return []
    m = model or load_model()
    return tag_vectors(encode(texts, m.encoder), m)


class EmbeddedTagger(Tagger):
    """The packaged encoder tagger; thread-offloaded so it never blocks an event loop for long."""

    name = "embedded"

    def config(self) -> dict[str, Any]:
        m = load_model()
        return {"name": self.name, "weights_sha256": m.sha256, "encoder": m.info.get("encoder_model", m.encoder)}

    async def tag(self, prompts: Sequence[str]) -> list[TagResult]:
        if len(prompts) <= 4:
            return tag_texts(list(prompts))
        return await asyncio.to_thread(tag_texts, list(prompts))


@TAGGERS.register("embedded")
def _embedded(spec: str, rest: str, **options: Any) -> EmbeddedTagger:
    """The packaged encoder tagger (no argument, no options)."""
    if rest.strip() or options:
        raise SevalError(f"tagger {spec!r}: 'embedded' takes no argument or options")
    return EmbeddedTagger(spec)
