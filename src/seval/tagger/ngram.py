"""The n-gram risk tagger (`ngram`; the default before the encoder tagger): linear heads over hashed word +
character n-grams.

Offline, CPU only, numpy + scikit-learn's hashing. Dimension (8), category (25) and harmfulness heads are
logistic regressions; the leaf risk is the nearest of the leaf prototypes (centroids of the leaf's prompts)
inside the predicted category. Trained by training/train_tagger.py; weights in seval/tagger/weights/.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from seval.errors import SevalError
from seval.tagger.base import TAGGERS, Tagger, TagResult
from seval.tagger.heads import decode, softmax
from seval.weights import read_packaged

WEIGHTS_PACKAGE = "seval.tagger.weights"
WEIGHTS_FILE = "tagger.npz"
SETTINGS_FILE = "tagger.json"


def feature_settings(d: dict[str, Any] | None = None) -> Any:
    """The tagger's n-gram settings (the critic's featuriser with the tagger's own sizes): word 1-2 grams and
    character 1-3 grams (Chinese has no spaces, so its words are character n-grams)."""
    from seval.critic.features import FeatureSettings

    base = {"n_bits": 16, "max_chars": 1500, "char_chars": 600, "word_ngrams": (1, 2), "char_ngrams": (1, 3)}
    return FeatureSettings.from_dict({**base, **(d or {})})


def featurize(texts: Sequence[str], settings: Any, hasher: Any = None) -> Any:
    """Sparse CSR rows of hashed n-grams, one per text; the same function at training and inference."""
    from seval.critic.features import TextHasher, normalize

    hasher = hasher or TextHasher(settings)
    return hasher.transform([normalize(t, settings.max_chars) or "-" for t in texts])


@dataclass(slots=True)
class TaggerModel:
    """The shipped model as float32 arrays plus its label lists and settings."""

    settings: Any
    hasher: Any
    w: Any  # (n_features, n_dims + n_cats + 1)
    b: Any
    leaf: Any  # csr (n_risks, n_features), rows L2-normalised
    dims: list[str]
    cats: list[str]
    risks: list[str]
    cat_dim: Any  # (n_cats,) index of each category's dimension
    risk_cat: Any  # (n_risks,) index of each risk's category
    leaf_temp: float
    sha256: str
    info: dict[str, Any]


@cache
def load_model() -> TaggerModel:
    """The packaged weights, loaded once; a clear error when they are missing or inconsistent."""
    import numpy as np
    import scipy.sparse as sp

    from seval.critic.features import TextHasher

    blob, info = read_packaged(WEIGHTS_PACKAGE, WEIGHTS_FILE, SETTINGS_FILE, "training/train_tagger.py")
    arr = np.load(io.BytesIO(blob))
    settings = feature_settings(info["features"])
    n = 2**settings.n_bits
    dims, cats, risks = info["dimensions"], info["categories"], info["risks"]
    w = arr["w"].astype(np.float32)
    if w.shape != (n, len(dims) + len(cats) + 1):
        raise SevalError(f"embedded tagger weights do not match their settings ({w.shape})")
    leaf = sp.csr_matrix((arr["leaf_data"].astype(np.float32), arr["leaf_indices"], arr["leaf_indptr"]),
                         shape=(len(risks), n))
    cat_dim = np.array([dims.index(c.split(".", 1)[0]) for c in cats])
    risk_cat = np.array([cats.index(r.rsplit(".", 1)[0]) for r in risks])
    return TaggerModel(settings, TextHasher(settings), w, arr["b"].astype(np.float32), leaf, dims, cats, risks,
                       cat_dim, risk_cat, float(info.get("leaf_temp", 20.0)), hashlib.sha256(blob).hexdigest(), info)




def tag_texts(texts: Sequence[str], model: TaggerModel | None = None) -> list[TagResult]:
    """Tag prompts synchronously (the whole model is two sparse-dense products)."""
    import numpy as np

    if not texts:
        return []
    m = model or load_model()
    x = featurize(texts, m.settings, m.hasher)
    z = np.asarray(x @ m.w) + m.b
    nd, nc = len(m.dims), len(m.cats)
    p_dim = softmax(z[:, :nd])
    p_cat = softmax(z[:, nd:nd + nc])
    harm = 1.0 / (1.0 + np.exp(-np.clip(z[:, nd + nc], -30, 30)))
    return decode(p_dim, p_cat, harm, np.asarray((x @ m.leaf.T).todense()) if m.leaf.nnz else np.zeros((len(texts), len(m.risks))), m, "ngram")


class NgramTagger(Tagger):
    """The packaged n-gram linear tagger; thread-offloaded so it never blocks an event loop for long."""

    name = "ngram"

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "weights_sha256": load_model().sha256}

    async def tag(self, prompts: Sequence[str]) -> list[TagResult]:
        if len(prompts) <= 64:
            return tag_texts(list(prompts))
        return await asyncio.to_thread(tag_texts, list(prompts))


@TAGGERS.register("ngram")
def _ngram(spec: str, rest: str, **options: Any) -> NgramTagger:
    """The packaged n-gram tagger (no argument, no options)."""
    if rest.strip() or options:
        raise SevalError(f"tagger {spec!r}: 'ngram' takes no argument or options")
    return NgramTagger(spec)
