"""Text helpers shared by the runner, critics and studies: splitting a reasoning model's thinking from its answer."""

from __future__ import annotations

import re

_BLOCK = re.compile(r"<(think|thinking|reasoning)>(.*?)</\1>", re.IGNORECASE | re.DOTALL)
_OPEN = re.compile(r"<(think|thinking|reasoning)>", re.IGNORECASE)
_CLOSE = re.compile(r"</(think|thinking|reasoning)>", re.IGNORECASE)


def strip_think(text: str | None) -> tuple[str, str]:
    """Split `text` into (answer, thinking): `<think>...</think>` blocks are removed from the answer.

    Also handled: a reply that starts inside a block (the chat template opened `<think>`, so only `</think>`
    appears: everything before it is thinking) and an unclosed `<think>` (generation stopped while thinking:
    the rest is thinking and the answer is empty).
    """
    if not text:
        return "", ""
    thoughts: list[str] = []
    first_open = _OPEN.search(text)
    first_close = _CLOSE.search(text)
    if first_close and (first_open is None or first_close.start() < first_open.start()):
        thoughts.append(text[: first_close.start()])
        text = text[first_close.end():]

    def _take(m: re.Match[str]) -> str:
        thoughts.append(m.group(2))
        return ""

    text = _BLOCK.sub(_take, text)
    dangling = _OPEN.search(text)
    if dangling:
        thoughts.append(text[dangling.end():])
        text = text[: dangling.start()]
    return text.strip(), "\n\n".join(t.strip() for t in thoughts if t.strip())
