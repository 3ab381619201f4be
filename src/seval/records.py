"""Typed records that flow between stages; each round-trips through a plain dict (JSONL, SQLite, reports)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal, Self

Lang = Literal["zh", "en"]
Message = dict[str, str]  # {"role": "system"|"user"|"assistant", "content": str}


def file_sha256(path: str | Path) -> str:
    """The sha256 of a file (a benchmark or a gold set), read in 1 MiB blocks: recorded with runs and validations."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def md5_hex(text: str) -> str:
    """S-Eval's traceid: the md5 of the prompt text."""
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def stable_hash(obj: Any) -> str:
    """A short, order-independent hash of a JSON-able object (config, request, critic setup)."""
    blob = json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:32]


class _Record:
    """Shared dict conversion: unknown keys are ignored on input so newer files still load."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Self:
        names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        return cls(**{k: v for k, v in d.items() if k in names})


@dataclass(slots=True)
class TestCase(_Record):
    """One test prompt: a base risk prompt (attack is None) or an attack variant of one (base_id set)."""

    __test__ = False  # not a pytest class

    id: str
    prompt: str
    lang: str
    dimension: str | None = None  # taxonomy dimension id, e.g. "CI"
    category: str | None = None  # category id, e.g. "CI.drug_crimes"
    risk: str | None = None  # leaf risk id
    attack: str | None = None  # attack name; None for base prompts
    base_id: str | None = None  # the base prompt an attack prompt was derived from
    from_id: str | None = None  # en base prompt: the zh prompt it was translated from
    turns: list[Message] | None = None  # multi-turn attacks: earlier turns before `prompt`
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def is_attack(self) -> bool:
        return self.attack is not None


@dataclass(slots=True)
class GenParams(_Record):
    """Sampling parameters; part of the cache key of every request."""

    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int = 256
    seed: int | None = 0
    system_prompt: str | None = None
    stop: list[str] | None = None
    logprobs: bool = False  # ask for first-token log-probabilities when the backend has them


@dataclass(slots=True)
class Usage(_Record):
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass(slots=True)
class Completion(_Record):
    """What a backend returned for one request."""

    text: str
    model: str = ""
    finish_reason: str | None = None
    usage: Usage = field(default_factory=Usage)
    latency_s: float = 0.0
    # first generated token's top alternatives: {token: logprob}; None when the backend gives none
    first_token_logprobs: dict[str, float] | None = None
    # what an inference-time defense did for this request (clauses applied, checks, regenerations); None if none
    defense: dict[str, Any] | None = None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Self:
        d = dict(d)
        if isinstance(d.get("usage"), dict):
            d["usage"] = Usage.from_dict(d["usage"])
        return super(Completion, cls).from_dict(d)


class ErrorKind(StrEnum):
    """Typed failures: each is recorded as what it is, never counted as a safe answer."""

    RATE_LIMITED = "rate_limited"
    TIMEOUT = "timeout"
    SERVER_ERROR = "server_error"
    CONTENT_FILTER = "content_filter"  # the provider refused to answer (its own moderation)
    BAD_REQUEST = "bad_request"
    AUTH = "auth"
    CONNECTION = "connection"
    MALFORMED = "malformed_response"
    OTHER = "other"

    @property
    def transient(self) -> bool:
        return self in {
            ErrorKind.RATE_LIMITED,
            ErrorKind.TIMEOUT,
            ErrorKind.SERVER_ERROR,
            ErrorKind.CONNECTION,
            ErrorKind.MALFORMED,
        }


class ModelCallError(Exception):
    """A failed model call with its kind; `retry_after` (s) comes from the server when it sent one."""

    def __init__(self, kind: ErrorKind, message: str, retry_after: float | None = None,
                 status: int | None = None) -> None:
        super().__init__(f"{kind.value}: {message}")
        self.kind = kind
        self.message = message
        self.retry_after = retry_after
        self.status = status


VerdictLabel = Literal["safe", "unsafe", "invalid"]


@dataclass(slots=True)
class JudgeItem(_Record):
    """What a critic sees: the test prompt, the response, and the risk the test case probes."""

    prompt: str
    response: str
    lang: str = "en"
    dimension: str | None = None
    category: str | None = None
    risk: str | None = None
    id: str | None = None


@dataclass(slots=True)
class Verdict(_Record):
    """A critic's judgment. `invalid` means no usable judgment (never folded into safe)."""

    label: str  # VerdictLabel
    score: float | None = None  # risk score in [0, 1]: probability-like belief that the response is unsafe
    tags: list[str] = field(default_factory=list)  # taxonomy ids the critic matched
    explanation: str = ""
    critic: str = ""  # critic name
    critic_hash: str = ""  # hash of the critic's configuration
    raw: str | None = None  # raw judge output, for LLM judges
    # what kind of judgment this is: "non_answer" (empty/echo/loop/gibberish/cut: not harmful),
    # "uncertain" (score in the critic's uncertain band), "escalated" (a cascade sent it to its second judge)
    flags: list[str] = field(default_factory=list)

    @property
    def is_valid(self) -> bool:
        return self.label in ("safe", "unsafe")


ResultStatus = Literal["ok", "content_filter", "error"]


@dataclass(slots=True)
class ResultRow(_Record):
    """One line of results.jsonl: a test case, the target's answer (or typed error) and the verdict."""

    id: str
    lang: str
    prompt: str
    dimension: str | None
    category: str | None
    risk: str | None
    attack: str | None
    base_id: str | None
    target: str
    status: str  # ResultStatus
    response: str | None = None
    error_kind: str | None = None
    error: str | None = None
    verdict: str | None = None  # safe | unsafe | invalid | None (not judged: status != ok)
    score: float | None = None
    explanation: str | None = None
    tags: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)  # the verdict's flags (non_answer, uncertain, escalated)
    critic: str | None = None
    defense: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    from_id: str | None = None
