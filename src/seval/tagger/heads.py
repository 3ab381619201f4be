"""Tag results from a tagger's head outputs: one decoding for every linear tagger (n-gram or encoder)."""

from __future__ import annotations

from typing import Any

import numpy as np

from seval.tagger.base import TagResult


def decode(p_dim: np.ndarray, p_cat: np.ndarray, harm: np.ndarray, sims: np.ndarray, m: Any,
           tagger: str) -> list[TagResult]:
    """P(dimension), P(category | heads), harm and leaf similarities -> one TagResult per row.

    `m` carries dims, cats, risks, cat_dim (each category's dimension), risk_cat and leaf_temp. P(category) is
    P(dimension) x P(category | dimension), so the two heads always agree; the leaf is the softmax-nearest
    prototype inside the chosen category."""
    nd, nc = len(m.dims), len(m.cats)
    within = np.zeros((len(p_dim), nd), dtype=np.float64)
    np.add.at(within.T, m.cat_dim, p_cat.T)
    joint = p_dim[:, m.cat_dim] * p_cat / np.maximum(within[:, m.cat_dim], 1e-9)
    out: list[TagResult] = []
    for i in range(len(p_dim)):
        d = int(p_dim[i].argmax())
        in_d = np.flatnonzero(m.cat_dim == d)
        c = int(in_d[joint[i, in_d].argmax()])
        leaves = np.flatnonzero(m.risk_cat == c)
        risk, risk_score = None, 0.0
        if len(leaves):
            s = sims[i, leaves] * m.leaf_temp
            p = np.exp(s - s.max())
            p /= p.sum()
            k = int(p.argmax())
            risk, risk_score = m.risks[int(leaves[k])], float(p[k])
        out.append(TagResult(
            dimension=m.dims[d], dimension_score=float(p_dim[i, d]), category=m.cats[c],
            category_score=float(joint[i, c]), risk=risk, risk_score=risk_score, harm=float(harm[i]),
            dimensions={m.dims[j]: float(p_dim[i, j]) for j in range(nd)},
            categories={m.cats[j]: float(joint[i, j]) for j in range(nc)}, tagger=tagger))
    return out


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax."""
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)
