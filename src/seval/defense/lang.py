"""Which language a prompt is in (zh or en), so clauses and refusals are given in the user's language."""

from __future__ import annotations

import re

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def detect_lang(text: str, default: str = "en") -> str:
    """`zh` when CJK characters make up a noticeable share of the letters, else `en` (or `default` if empty)."""
    if not text or not text.strip():
        return default
    cjk = len(_CJK.findall(text))
    letters = sum(1 for ch in text if ch.isalpha())
    if cjk and (cjk >= 0.2 * max(letters, 1) or cjk >= 20):
        return "zh"
    return "en" if letters else default
