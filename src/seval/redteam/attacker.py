"""The attacker model's side of an adaptive attack: its prompts (data/attacker.yaml, en and zh) and a tolerant
reading of what it writes back.

An attacker is asked for one JSON object (`{"improvement": ..., "prompt": ...}`); small models often answer
with fenced JSON, JSON inside prose, JSON with keys of their own, or just the prompt. `parse_attack` takes the
first JSON object that holds a prompt-like key, else the longest string in a JSON object, else the plain text
(labels, quotes and fences removed) as the prompt itself.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from seval.errors import SevalError
from seval.templating import fill

#: keys an attacker may use for the prompt it proposes, in order of preference
PROMPT_KEYS = ("prompt", "new_prompt", "question", "message", "next_message", "user_message", "text",
               "提示", "问题", "消息")
#: keys for its reasoning (PAIR's improvement, Crescendo's rationale)
NOTE_KEYS = ("improvement", "rationale", "reason", "analysis", "改进", "理由")

_FENCE = re.compile(r"```[A-Za-z]*\s*\n?(.*?)```", re.S)
_THINK = re.compile(r"<think>.*?(</think>|$)", re.S | re.I)
_LABEL = re.compile(r"^\s*(?:\*\*)?(?:new\s+)?(?:prompt|question|message|user|提示|问题|消息|用户)(?:\*\*)?\s*[:：]\s*",
                    re.I)
_QUOTES = "\"'“”‘’「」『』`"


@cache
def _templates() -> dict[str, Any]:
    import yaml

    text = resources.files("seval.redteam").joinpath("data/attacker.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)  # type: ignore[no-any-return]


def template(lang: str, method: str, name: str) -> str:
    """One attacker template in the base prompt's language (zh for Chinese, en otherwise)."""
    data = _templates()
    key = "zh" if lang == "zh" else "en"
    try:
        return str(data[key][method][name])
    except KeyError:
        raise SevalError(f"attacker template {key}.{method}.{name} is missing from seval/redteam/data/attacker.yaml"
                         ) from None


def render(lang: str, method: str, name: str, **values: Any) -> str:
    return fill(template(lang, method, name), values)


@dataclass(frozen=True, slots=True)
class ParsedAttack:
    """What the attacker proposed: the prompt, its note (improvement/rationale), and how it was read."""

    prompt: str
    note: str = ""
    how: str = "json"  # json | json-other (no prompt key: its longest string) | text | empty

    def as_json(self, note_key: str = "improvement") -> str:
        """The proposal as the attacker was asked to write it (its turn in the attacker's own history)."""
        return json.dumps({note_key: self.note, "prompt": self.prompt}, ensure_ascii=False)


def _objects(text: str) -> list[dict[str, Any]]:
    """Every JSON object that decodes starting at a `{` of the text, in order."""
    dec = json.JSONDecoder()
    out: list[dict[str, Any]] = []
    i = text.find("{")
    while i >= 0:
        try:
            obj, end = dec.raw_decode(text, i)
        except json.JSONDecodeError:
            i = text.find("{", i + 1)
            continue
        if isinstance(obj, dict):
            out.append(obj)
        i = text.find("{", end)
    return out


def _first_str(obj: dict[str, Any], keys: tuple[str, ...]) -> str:
    low = {str(k).lower(): v for k, v in obj.items()}
    for k in keys:
        v = low.get(k)
        if isinstance(v, str) and v.strip():
            return v.strip()
    return ""


def _longest(obj: Any) -> str:
    """The longest string anywhere in a decoded JSON value (an attacker that invented its own keys)."""
    if isinstance(obj, str):
        return obj.strip()
    vals = obj.values() if isinstance(obj, dict) else obj if isinstance(obj, list) else []
    return max((_longest(v) for v in vals), key=len, default="")


def _plain(text: str) -> str:
    """The text as a prompt: fences, a leading label and wrapping quotes removed."""
    fenced = _FENCE.findall(text)
    body = max(fenced, key=len) if fenced else text
    body = _LABEL.sub("", body.strip()).strip()
    if len(body) >= 2 and body[0] in _QUOTES and body[-1] in _QUOTES:
        body = body[1:-1].strip()
    return body


def parse_attack(text: str | None) -> ParsedAttack:
    """The attacker's proposal from its raw output (see the module docstring); `how` says which reading won."""
    raw = _THINK.sub("", text or "").strip()
    if not raw:
        return ParsedAttack("", how="empty")
    objects = _objects(raw)
    for obj in objects:
        prompt = _first_str(obj, PROMPT_KEYS)
        if prompt:
            return ParsedAttack(prompt, _first_str(obj, NOTE_KEYS), "json")
    for obj in objects:  # JSON with keys of its own: its longest text
        text = _longest(obj)
        if text:
            return ParsedAttack(text, "", "json-other")
    body = _plain(raw)
    return ParsedAttack(body, how="text" if body else "empty")
