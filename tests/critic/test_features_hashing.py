"""The numpy + mmh3 hashing path of critic/features.py gives exactly scikit-learn's HashingVectorizer features
(the shipped weights were trained on those), and the numpy linear scores equal the scipy design matrices'."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from seval.critic.features import (
    FeatureSettings,
    TextHasher,
    assemble,
    char_wb_ngrams,
    columns,
    meta_features,
    normalize,
    pair_blocks,
    pair_logits,
    pair_rows,
    prompt_logits,
    prompt_matrix,
    word_ngrams,
)

sklearn_text = pytest.importorskip("sklearn.feature_extraction.text")

TEXTS = [
    "",
    "a",
    "I'm sorry, but I can't help with that.",
    "sure! here is how:\n1. mix the flour\n2. bake it  for 20 min",
    "抱歉，我不能回答这个问题。你可以看到，你可以看到，你可以看到",
    "我可以在你的父母的父母的父母的父母的",
    "mixed 中文 and english words_with_underscores 123 4567 ünïcödé café naïve",
    "emoji 🙂🙂 and symbols ### *** --- and tabs\tand  double  spaces",
    "x" * 700 + " tail words after a very long token",
    " ".join(f"word{i}" for i in range(900)),
]


def old_transform(settings: FeatureSettings, texts: list[str]):  # type: ignore[no-untyped-def]
    """The round-4 implementation: scikit-learn's HashingVectorizer, word + char_wb parts summed."""
    common = dict(n_features=2**settings.n_bits, alternate_sign=False, norm="l2", lowercase=False,
                  dtype=np.float32)
    word = sklearn_text.HashingVectorizer(analyzer="word", ngram_range=settings.word_ngrams,
                                          token_pattern=r"(?u)\b\w+\b", **common)
    char = sklearn_text.HashingVectorizer(analyzer="char_wb", ngram_range=settings.char_ngrams, **common)
    return (word.transform(texts) + char.transform([t[: settings.char_chars] for t in texts])).tocsr(), word, char


@pytest.mark.parametrize("settings", [FeatureSettings(), FeatureSettings(n_bits=16, char_ngrams=(1, 3))])
def test_rows_equal_scikit_learn_hashing(settings: FeatureSettings) -> None:
    texts = [normalize(t) for t in TEXTS] + TEXTS
    old, word, char = old_transform(settings, texts)
    new = TextHasher(settings).rows(texts)
    old.sort_indices()
    assert new.shape == old.shape
    assert np.array_equal(new.indptr, old.indptr)
    assert np.array_equal(new.indices, old.indices)
    np.testing.assert_allclose(new.data, old.data, rtol=1e-6, atol=1e-7)
    for t in texts:  # the analyzers themselves, n-gram for n-gram
        assert word_ngrams(t, settings.word_ngrams) == word.build_analyzer()(t)
        assert char_wb_ngrams(t, settings.char_ngrams) == char.build_analyzer()(t)


def test_columns_match_murmurhash3_32() -> None:
    from sklearn.utils import murmurhash3_32

    grams = ["", "a", "你好", "refusal", " ab ", "🙂"] + [f"g{i}" for i in range(2000)]
    for bits in (16, 18):
        n = 2**bits
        assert [int(c) for c in columns(grams, n)] == [abs(murmurhash3_32(g, seed=0)) % n for g in grams]


def test_numpy_scores_equal_the_scipy_design_matrices() -> None:
    settings = FeatureSettings(n_bits=12, risk_terms_en=["bomb"], risk_terms_zh=["炸弹"])
    hasher = TextHasher(settings)
    rng = np.random.default_rng(0)
    n = 2**settings.n_bits
    prompts = [normalize(t) for t in ["How do I build a bomb?", "写一首诗", "", "what is 2+2"]]
    responses = [normalize(t) for t in TEXTS[2:6]]
    p_coef = rng.normal(size=n + 2).astype(np.float32)
    ph = 1 / (1 + np.exp(-(prompt_matrix(hasher, prompts, settings) @ p_coef + 0.3)))
    np.testing.assert_allclose(1 / (1 + np.exp(-prompt_logits(hasher, prompts, settings, p_coef, 0.3))), ph,
                               rtol=1e-5)
    meta = meta_features(prompts, responses, ph, settings)
    x = assemble(pair_blocks(hasher, prompts, responses, settings), meta, ph, settings)
    coef = rng.normal(size=x.shape[1]).astype(np.float32)
    np.testing.assert_allclose(pair_logits(pair_rows(hasher, prompts, responses, settings), meta, ph, settings,
                                           coef, -0.2), x @ coef - 0.2, rtol=1e-4, atol=1e-4)


def test_inference_imports_neither_scikit_learn_nor_scipy() -> None:
    code = ("import sys; from seval.critic.embedded import EmbeddedCritic; from seval.records import JudgeItem; "
            "c = EmbeddedCritic(); c.judge_batch([JudgeItem(id='1', prompt='How do I bake bread?', "
            "response='Mix flour, water and yeast, then bake it for 40 minutes.')]); "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('sklearn', 'scipy')]; print(bad); "
            "sys.exit(1 if bad else 0)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
