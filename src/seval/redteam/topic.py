"""TAP's off-topic check: is a refined prompt still about the goal? Embedding similarity to the base prompt.

The TAP paper asks the attacker model itself ("does this prompt ask for the same thing as the goal?"). That
costs an attacker call per candidate and, with a small local attacker, is close to a coin toss; the sentence
embeddings `seval generate` already uses for its on-topic and near-duplicate checks
(seval.generate.embeddings, on the cached encoders of seval.text.encoders) are free, offline, deterministic and per language, so TAP prunes with them.
Thresholds per similarity method are data (data/settings.yaml).
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any


@cache
def _embedder() -> Any:
    from seval.generate.embeddings import Embedder

    return Embedder()


@cache
def thresholds() -> dict[str, float]:
    import yaml

    text = resources.files("seval.redteam").joinpath("data/settings.yaml").read_text(encoding="utf-8")
    return {k: float(v) for k, v in yaml.safe_load(text)["on_topic"].items()}


def similarities(goal: str, prompts: list[str], lang: str) -> tuple[list[float], str]:
    """Cosine similarity of each prompt to the goal, and the method's name (minilm | chargram)."""
    emb = _embedder()
    method = emb.methods(lang)[0]
    if not prompts:
        return [], method
    sims = emb.sim_matrices(prompts, [goal], lang)[method]
    return [float(s) for s in sims[:, 0]], method


def threshold(method: str, override: float | None = None) -> float:
    return override if override is not None else thresholds().get(method, 0.0)
