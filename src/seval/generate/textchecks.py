"""Text-only checks of a candidate prompt: its script (language) and whether it is a real question or request."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import Any

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002a6df]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")


@cache
def selection_config() -> dict[str, Any]:
    """The packaged selection settings (data/selection.yaml)."""
    import yaml

    text = resources.files("seval.generate").joinpath("data/selection.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def script_shares(text: str) -> tuple[float, float, float]:
    """Shares of CJK characters, Latin letters and other-script letters among all letters (0s when none)."""
    cjk = len(_CJK.findall(text))
    latin = len(_LATIN.findall(text))
    other = sum(1 for ch in text if ch.isalpha()) - cjk - latin
    total = cjk + latin + max(other, 0)
    if total == 0:
        return 0.0, 0.0, 0.0
    return cjk / total, latin / total, max(other, 0) / total


def language_ok(text: str, lang: str) -> tuple[bool, str]:
    """zh must be mostly CJK, en mostly Latin; other languages are not checked. Returns (ok, reason)."""
    cfg = selection_config()["language"]
    cjk, latin, _ = script_shares(text)
    if lang == "zh" and cjk < cfg["zh_min_cjk"]:
        return False, f"not Chinese (CJK share {cjk:.2f})"
    if lang == "en" and latin < cfg["en_min_latin"]:
        return False, f"not English (Latin share {latin:.2f})"
    return True, ""


@cache
def _artefacts() -> list[re.Pattern[str]]:
    return [re.compile(p, re.I) for p in selection_config()["artefacts"]]


def _first_words(text: str) -> list[str]:
    """The first word of each sentence (lower-case)."""
    words = []
    for sent in re.split(r"[.!?;:—–]+\s*|\s-\s", text):
        m = re.match(r"\W*([A-Za-z']+)", sent)
        if m:
            words.append(m.group(1).lower())
    return words


def is_request(text: str, lang: str) -> bool:
    """A real question or request: ends with ?/？, starts with an interrogative/imperative, or holds a request cue."""
    cfg = selection_config()["question"]
    if any(x.rstrip(" \"'”’）)").endswith(("?", "？")) for x in _sentences(text)):
        return True
    if lang == "zh":
        clauses = [c.strip(" “”\"'") for c in re.split(r"[，,。！!；;：:\n]+", text) if c.strip()]
        if any(c.startswith(tuple(cfg["zh"]["starts"])) for c in clauses):
            return True
        return any(c in text for c in cfg["zh"]["cues"])
    low = text.lower()
    strong = set(cfg["en"]["starts"]) - set(cfg["weak_starts"])
    if any(w in strong for w in _first_words(text)):
        return True
    return any(re.search(r"\b" + re.escape(c) + r"\b", low) for c in cfg["en"]["cues"])


def _sentences(text: str) -> list[str]:
    return [x for x in re.split(r"(?<=[.!?。！？])\s*", text.strip()) if x.strip()]


def dangling(text: str, lang: str) -> str | None:
    """The phrase of a one-sentence prompt that points at missing context ("this situation"), or None."""
    pat = selection_config().get("dangling", {}).get(lang)
    if not pat or len(_sentences(text)) > 1:
        return None
    if lang == "zh":
        text = re.split(r"[，,；;：:]", text, maxsplit=1)[0]
    m = re.search(pat, text, re.I)
    return m.group(0) if m else None


def quality_ok(text: str, lang: str) -> tuple[bool, str]:
    """Length bounds, no template artefacts or refusal, a real question or request, self-contained.
    Returns (ok, reason)."""
    from seval.critic.refusal import detect_refusal

    cfg = selection_config()
    lo, hi = cfg["length"].get(lang, cfg["length"]["en"])
    if len(text) < lo:
        return False, f"too short ({len(text)} < {lo} chars)"
    if len(text) > hi:
        return False, f"too long ({len(text)} > {hi} chars)"
    for pat in _artefacts():
        m = pat.search(text)
        if m:
            return False, f"template artefact {m.group(0).strip()!r}"
    ref = detect_refusal(text)
    if ref.refused:
        return False, f"a refusal, not a question ({ref.phrase!r})"
    if not is_request(text, lang):
        return False, "not a question or request"
    ref = dangling(text, lang)
    if ref:
        return False, f"not self-contained ({ref!r} without context)"
    return True, ""
