"""The one small grammar of seval's spec strings, with one parser and one error style.

    NAME[:BODY][?key=value&key=value]          model, critic and defense specs
        local:smollm2    llm:openai:gpt-4o-mini|ollama:qwen2.5    constitution:default:medical?modes=system
    a|b                                         alternatives (fallbacks), split outside brackets
    a,b;k=v                                     lists split at top level (ensemble members; brackets nest)
    -o key=value                                options on the command line (same value typing as ?key=value)

Values are typed the same way everywhere: integers, then floats, then true/false, else the text. Every error is
one line: `bad <what> spec '<spec>': <problem>[; e.g. <example>]`. URLs in specs are checked when parsed
(`check_url`) and lose their userinfo (`user:KEY@`) in everything seval writes or prints (`redact_url`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from seval.errors import SevalError

_OPEN, _CLOSE = "([{", ")]}"
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@?#]*@")


def redact_url(text: str) -> str:
    """`text` with the userinfo (`user:KEY@`) of every URL in it removed: what seval writes and prints."""
    return _USERINFO.sub(r"\1", text)


def spec_error(what: str, spec: str, problem: str, example: str | None = None) -> SevalError:
    """The one error style of spec parsing (credentials in the spec are never shown)."""
    return SevalError(f"bad {what} spec {redact_url(spec)!r}: {redact_url(problem)}"
                      + (f"; e.g. {example}" if example else ""))


def check_url(url: str, what: str, spec: str) -> tuple[str, tuple[str, str] | None]:
    """An http(s) URL with a host and a port in 1..65535 -> (the URL without userinfo, (user, password) or None).

    Checked when the spec is parsed, so a mistyped port is one error before the run, not one per row."""
    u = urlsplit(url)
    if u.scheme not in ("http", "https"):
        raise spec_error(what, spec, f"bad base URL {redact_url(url)!r}: must start with http:// or https://")
    hostport = u.netloc.rpartition("@")[2]
    if not u.hostname:
        raise spec_error(what, spec, f"bad base URL {redact_url(url)!r}: no host, e.g. http://127.0.0.1:8000/v1")
    port = hostport.rpartition("]")[2].rpartition(":")[2] if ":" in hostport.rpartition("]")[2] else ""
    if port and not port.isdigit():
        raise spec_error(what, spec, f"bad base URL {redact_url(url)!r}: port {port!r} is not a number")
    if port and not 0 < int(port) < 65536:
        raise spec_error(what, spec, f"bad base URL {redact_url(url)!r}: port {port} is out of range (1-65535)")
    auth = (unquote(u.username or ""), unquote(u.password or "")) if "@" in u.netloc else None
    return urlunsplit((u.scheme, hostport, u.path, u.query, u.fragment)), auth


def parse_value(text: str) -> Any:
    """'16' -> 16, '0.5' -> 0.5, 'true' -> True, anything else stays text."""
    t = text.strip()
    for cast in (int, float):
        try:
            return cast(t)
        except ValueError:
            continue
    if t.lower() in ("true", "false"):
        return t.lower() == "true"
    return t


def split_top(text: str, sep: str) -> list[str]:
    """Split at `sep` outside (), [] and {} (so nested specs keep their own separators)."""
    out: list[str] = []
    depth = 0
    cur: list[str] = []
    for ch in text:
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth = max(0, depth - 1)
        if ch == sep and depth == 0:
            out.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    out.append("".join(cur))
    return [p.strip() for p in out]


def parse_pairs(pairs: Iterable[str], what: str, spec: str, allowed: Iterable[str] | None = None,
                lower_keys: bool = False) -> dict[str, Any]:
    """`key=value` items -> typed dict; unknown keys (when `allowed` is given) and empty values are errors."""
    allow = tuple(allowed) if allowed is not None else None
    out: dict[str, Any] = {}
    for pair in pairs:
        if not pair.strip():
            continue
        key, eq, value = pair.partition("=")
        key = key.strip().lower() if lower_keys else key.strip()
        if not eq or not key:
            raise spec_error(what, spec, f"expected key=value, got {pair.strip()!r}")
        if allow is not None and key not in allow:
            raise spec_error(what, spec, f"unknown option {key!r}; valid: {', '.join(allow)}")
        if not value.strip():
            raise spec_error(what, spec, f"option {key!r} needs a value ({key}=...)")
        out[key] = parse_value(value)
    return out


def parse_options(pairs: Iterable[str], what: str = "option") -> dict[str, Any]:
    """Command-line `-o key=value` options (repeatable) -> typed dict."""
    items = list(pairs)
    return parse_pairs(items, what, " ".join(f"-o {p}" for p in items))


@dataclass(frozen=True)
class Spec:
    """A parsed spec: `name`, the `body` after the first ':', `options` from a `?query`, and the text."""

    name: str
    body: str
    options: dict[str, Any] = field(default_factory=dict)
    raw: str = ""

    def alternatives(self) -> list[str]:
        """The body's `a|b|c` parts (fallback chains)."""
        return [p for p in split_top(self.body, "|") if p]


def parse_spec(text: str, what: str = "model", query: bool = False, allowed: Iterable[str] | None = None,
               example: str | None = None) -> Spec:
    """`NAME[:BODY][?k=v&...]` -> Spec; the query is only read when `query` (URLs may hold a '?')."""
    if not isinstance(text, str) or not text.strip():
        raise SevalError(f"empty {what} spec" + (f"; e.g. {example}" if example else ""))
    raw = text.strip()
    head, qmark, q = raw.partition("?") if query else (raw, "", "")
    name, _, body = head.partition(":")
    if not name.strip():
        raise spec_error(what, raw, "missing the name before ':'", example)
    opts = parse_pairs(q.split("&"), what, raw, allowed, lower_keys=True) if qmark else {}
    return Spec(name=name.strip(), body=body.strip(), options=opts, raw=raw)


__all__ = ["Spec", "check_url", "parse_options", "parse_pairs", "parse_spec", "parse_value", "redact_url",
           "spec_error", "split_top"]
