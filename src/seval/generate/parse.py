"""Tolerant parsing of a generator's answer into a list of prompts: JSON list first, numbered list as fallback."""

from __future__ import annotations

import json
import re

_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.S)
_NUMBERED = re.compile(r"^\s*(?:\(?\d{1,3}[.)、:：]|[-*•])\s*(.+?)\s*$")
_KEYS = ("prompt", "question", "text", "content", "request", "问题", "提示")


def _text_of(item: dict[str, object]) -> str | None:
    """The prompt inside an object: a value under a prompt-like key ("question", "question1", "prompt"...)."""
    for key, val in item.items():
        if isinstance(val, str) and re.sub(r"[\s_\d]+$", "", str(key).lower()) in _KEYS:
            return val
    return None


def _strings(value: object) -> list[str] | None:
    """The strings of a parsed JSON value: a list of strings, of {"prompt": ...} objects, or a dict holding a list."""
    if isinstance(value, dict):
        lists = [v for v in value.values() if isinstance(v, list)]
        return _strings(lists[0]) if len(lists) == 1 else None
    if not isinstance(value, list):
        return None
    out: list[str] = []
    for item in value:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict):
            text = _text_of(item)
            if text is not None:
                out.append(text)
    return out


def _json_candidates(text: str) -> list[str]:
    """Places a JSON list may hide: fenced blocks, the whole text, the widest [...] span, a truncated tail."""
    cands = [m.group(1) for m in _FENCE.finditer(text)]
    cands.append(text)
    start, end = text.find("["), text.rfind("]")
    if start != -1 and end > start:
        cands.append(text[start:end + 1])
    if start != -1 and (end < start):  # cut off by max_tokens: close the list after the last complete string
        tail = text[start:]
        last = tail.rfind('",')
        if last == -1:
            last = tail.rfind('"')
        if last > 0:
            cands.append(tail[: last + 1] + "]")
    return cands


def parse_json_list(text: str) -> list[str] | None:
    """A JSON list of strings found in `text` (code fences and surrounding chatter tolerated), else None."""
    for cand in _json_candidates(text or ""):
        try:
            value = json.loads(cand.strip())
        except (ValueError, TypeError):
            continue
        items = _strings(value)
        if items is not None:
            return items
    return None


def parse_numbered_list(text: str) -> list[str] | None:
    """Lines of a numbered or bulleted list ("1. ...", "2) ...", "- ..."); None when fewer than two lines match."""
    items = []
    for line in (text or "").splitlines():
        m = _NUMBERED.match(line)
        if m:
            items.append(m.group(1).strip().strip('"“”').strip())
    return items if len(items) >= 2 else None


def parse_prompt_list(text: str) -> tuple[list[str], str] | None:
    """(prompts, how) with how = "json" or "numbered"; None when the answer holds no list (a ramble)."""
    items = parse_json_list(text)
    how = "json"
    if items is None:
        items, how = parse_numbered_list(text), "numbered"
    if items is None:
        return None
    cleaned = [" ".join(s.split()) for s in items]
    cleaned = [s for s in cleaned if s]
    return (cleaned, how) if cleaned else None
