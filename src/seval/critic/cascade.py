"""A cascade of two critics: `cascade:<fast critic>,<judge>[;band=LO-HI]`.

The first (fast) critic judges everything; only the pairs it is unsure of go to the second (e.g. an LLM
judge): verdicts flagged `uncertain` (the embedded critics flag calibrated scores inside their band), verdicts
whose score lies inside `band` when one is given, and invalid ones. Non-answers (critic/nonanswer.py) are
judged safe by the cascade itself and never cost a call. Verdicts the second critic gave carry the flag
`escalated`; if its verdict is invalid, the first critic's verdict stands (flagged `uncertain`).
"""

from __future__ import annotations

from typing import Any

from seval.critic.base import CRITICS, Critic, resolve_critic
from seval.errors import SevalError
from seval.records import JudgeItem, Verdict
from seval.spec import split_top


class CascadeCritic(Critic):
    """Fast first pass, second opinion only where the first is uncertain."""

    name = "cascade"

    def __init__(self, spec: str, first: Critic, second: Critic, band: tuple[float, float] | None = None) -> None:
        super().__init__(spec)
        if band is not None and not 0.0 <= band[0] < band[1] <= 1.0:
            raise SevalError(f"cascade {spec!r}: band must be LO-HI with 0 <= LO < HI <= 1, got {band}")
        self.first, self.second, self.band = first, second, band
        self.n_judged = 0
        self.n_escalated = 0

    def config(self) -> dict[str, Any]:
        from seval.critic.nonanswer import rules_id

        return {"name": self.name, "non_answer": rules_id(),
                "first": {"critic": self.first.spec, "hash": self.first.config_hash()},
                "second": {"critic": self.second.spec, "hash": self.second.config_hash()},
                "band": list(self.band) if self.band else None}

    def uncertain(self, v: Verdict) -> bool:
        """Does this first-pass verdict need the second critic?"""
        if not v.is_valid or "uncertain" in v.flags:
            return True
        return bool(self.band and v.score is not None and self.band[0] < v.score < self.band[1])

    async def judge(self, items: list[JudgeItem]) -> list[Verdict]:
        out, todo = self.non_answers(items)
        firsts = await self.first.judge([items[i] for i in todo]) if todo else []
        if len(firsts) != len(todo):
            raise SevalError(f"cascade {self.spec!r}: {self.first.spec} returned {len(firsts)} verdicts "
                             f"for {len(todo)} pairs")
        up = [(i, v) for i, v in zip(todo, firsts, strict=True) if self.uncertain(v)]
        for i, v in zip(todo, firsts, strict=True):
            out[i] = self._wrap(v, v.flags, f"{self.first.spec}: {v.explanation}")
        if up:
            seconds = await self.second.judge([items[i] for i, _ in up])
            if len(seconds) != len(up):
                raise SevalError(f"cascade {self.spec!r}: {self.second.spec} returned {len(seconds)} verdicts "
                                 f"for {len(up)} pairs")
            for (i, v1), v2 in zip(up, seconds, strict=True):
                first = f"{self.first.spec} said {v1.label}" + (f" ({v1.score:.2f})" if v1.score is not None else "")
                if v2.is_valid:
                    flags = [f for f in v2.flags if f != "uncertain"] + ["escalated"]
                    out[i] = self._wrap(v2, flags, f"escalated ({first}, uncertain): {self.second.spec}: "
                                        f"{v2.explanation}")
                elif v1.is_valid:
                    flags = list(dict.fromkeys([*v1.flags, "uncertain"]))
                    out[i] = self._wrap(v1, flags, f"{first}, uncertain; {self.second.spec} gave no usable "
                                        f"verdict ({v2.explanation[:120]}): the first verdict stands")
                else:
                    out[i] = self._wrap(v2, v2.flags, f"neither critic gave a usable verdict: {v2.explanation}")
        self.n_judged += len(items)
        self.n_escalated += len(up)
        return [v for v in out if v is not None]

    def _wrap(self, v: Verdict, flags: list[str], explanation: str) -> Verdict:
        return self.verdict(v.label, v.score, explanation, list(v.tags), raw=v.raw, flags=list(flags))

    async def aclose(self) -> None:
        await self.first.aclose()
        await self.second.aclose()


def _band(spec: str, text: str) -> tuple[float, float]:
    lo, _, hi = text.partition("-")
    try:
        return float(lo), float(hi)
    except ValueError:
        raise SevalError(f"cascade {spec!r}: band must look like 0.3-0.7, got {text!r}") from None


@CRITICS.register("cascade")
def _cascade(spec: str, rest: str, **options: Any) -> CascadeCritic:
    """Fast critic first, the judge only for uncertain pairs: cascade:<fast>,<judge>[;band=LO-HI]."""
    pieces = split_top(rest, ";")
    members = [m.strip() for m in split_top(pieces[0], ",")]
    members = [m[1:-1].strip() if m.startswith("[") and m.endswith("]") else m for m in members]
    if len(members) != 2 or not all(members):
        raise SevalError(f"bad cascade spec {spec!r}: expected cascade:<fast critic>,<judge> "
                         "(e.g. cascade:embedded,llm:openai:gpt-4o-mini)")
    opts: dict[str, Any] = {}
    for opt in pieces[1:]:
        if opt.strip():
            key, eq, value = opt.partition("=")
            if not eq:
                raise SevalError(f"bad cascade option {opt!r} in {spec!r}: expected key=value")
            opts[key.strip()] = value.strip()
    opts.update(options)
    band = opts.pop("band", None)
    if opts:
        raise SevalError(f"cascade {spec!r}: unknown option(s) {', '.join(sorted(opts))}; valid: band")
    return CascadeCritic(spec, resolve_critic(members[0]), resolve_critic(members[1]),
                         _band(spec, str(band)) if band is not None else None)
