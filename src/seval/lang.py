"""Which language a text is in (zh or en): the one rule every reader, router and critic command uses.

zh when CJK characters make up at least a fifth of the letters, or there are at least 20 of them (a Chinese
question with an English code block is still Chinese); en otherwise; `default` for text without letters.
"""

from __future__ import annotations

import re

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
#: enough of a long text to decide; keeps detection O(1) on huge responses
SAMPLE = 4000


def detect_lang(text: str | None, default: str = "en") -> str:
    """`zh` or `en` (see the module docstring); `default` when the text has no letters."""
    if not text or not text.strip():
        return default
    sample = text[:SAMPLE]
    cjk = len(_CJK.findall(sample))
    letters = sum(1 for ch in sample if ch.isalpha())
    if cjk and (cjk >= 0.2 * max(letters, 1) or cjk >= 20):
        return "zh"
    return "en" if letters else default
