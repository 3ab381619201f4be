"""`Defense` (a constitution + scenario + modes + router) and `DefendedModel`, any backend wrapped by it.

Modes compose: `system` puts the selected rules in the system prompt (before the operator's own), `wrapper`
wraps the user turn in them (or, with `system` on too, appends a one-line reminder), `output-check` has a
critic judge the draft of every risky-routed prompt and, on a violation, regenerates with the violated clause
stated, up to `retries` times, then returns the scenario's safe refusal in the prompt's language.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import TYPE_CHECKING, Any

from seval.defense.apply import (
    Selection,
    add_instruction,
    apply_system,
    apply_wrapper,
    clause_name,
    last_user_index,
    refusal_text,
    rules_text,
    select,
    violation_note,
)
from seval.defense.constitution import Constitution, load_constitution
from seval.defense.router import Router, resolve_router
from seval.errors import SevalError
from seval.models.base import ModelBackend
from seval.records import Completion, GenParams, JudgeItem, Message, ModelCallError, Usage

if TYPE_CHECKING:
    from seval.models.policy import CallPolicy

log = logging.getLogger(__name__)

MODES = ("system", "wrapper", "output-check")
#: bump when the way rules are rendered or applied changes, so cached responses are not reused
DEFENSE_VERSION = 1


class Defense:
    """A differentiated, non-intrusive defense; `.wrap(backend)` gives a defended `ModelBackend`."""

    def __init__(self, constitution: Constitution | str = "default", scenario: str | None = None,
                 modes: tuple[str, ...] | list[str] = ("system",), router: str | Router | None = None,
                 critic: str | None = None, retries: int = 1, threshold: float | None = None, top_k: int = 2,
                 check: str = "risky", spec: str | None = None, policy: CallPolicy | None = None) -> None:
        self.constitution = load_constitution(constitution) if isinstance(constitution, str) else constitution
        self.scenario = self.constitution.scenario(scenario)
        bad = [m for m in modes if m not in MODES]
        if bad or not modes:
            raise SevalError(f"unknown defense mode(s) {bad or modes!r}; valid: {', '.join(MODES)} "
                             "(compose with ',' or '+', e.g. system+output-check)")
        self.modes = tuple(dict.fromkeys(modes))
        self.router = router if isinstance(router, Router) else resolve_router(router)
        if retries < 0:
            raise SevalError(f"defense retries must be >= 0, got {retries}")
        if threshold is not None and not 0 < threshold <= 1:
            raise SevalError(f"defense threshold must be in (0, 1], got {threshold}")
        if top_k < 1:
            raise SevalError(f"defense top_k must be >= 1, got {top_k}")
        if check not in ("risky", "all"):
            raise SevalError(f"defense check must be 'risky' or 'all', got {check!r}")
        self.critic_spec = critic
        self.retries = retries
        self.threshold = threshold
        self.top_k = top_k
        self.check = check
        self.spec = spec or f"constitution:{self.constitution.name}:{self.scenario.name}?modes={','.join(self.modes)}"
        self._critic: Any = None
        #: the run's call policy: the output check's critic calls its models through it (role `defense`)
        self.policy = policy

    # -- critic for output-check ------------------------------------------------------------------
    @property
    def critic(self) -> Any:
        """The output-check critic: the one named, else `embedded`, else `rule` (with a warning)."""
        if self._critic is None and "output-check" in self.modes:
            from seval.critic.base import resolve_critic

            if self.critic_spec:
                self._critic = resolve_critic(self.critic_spec, policy=self.policy, role="defense")
            else:
                try:
                    critic = resolve_critic("embedded")
                    probe = getattr(critic, "judge_batch", None)  # loads the weights now, not mid-run
                    if probe is not None:
                        probe([JudgeItem(prompt="hello", response="hello")])
                    self._critic = critic
                except (SevalError, ImportError, OSError) as exc:
                    print(f"warning: defense output-check: embedded critic unavailable ({exc}); using the rule "
                          "critic, which flags every non-refusal as a violation", file=sys.stderr)
                    self._critic = resolve_critic("rule")
        return self._critic

    def config(self) -> dict[str, Any]:
        """Everything that changes the defended model's output; part of the run store's cache key."""
        cfg: dict[str, Any] = {
            "version": DEFENSE_VERSION,
            "constitution": self.constitution.name,
            "constitution_hash": self.constitution.content_hash,
            "scenario": self.scenario.name,
            "modes": list(self.modes),
            "router": self.router.config(),
            "threshold": self.threshold if self.threshold is not None else self.scenario.threshold,
            "top_k": self.top_k,
        }
        if "output-check" in self.modes:
            c = self.critic
            cfg.update(critic=c.spec, critic_hash=c.config_hash(), retries=self.retries, check=self.check)
        return cfg

    def wrap(self, backend: ModelBackend) -> DefendedModel:
        return DefendedModel(backend, self)

    # -- per-request planning ---------------------------------------------------------------------
    async def plan(self, prompts: list[str]) -> list[Selection]:
        routings = await self.router.route(prompts)
        return [select(self.constitution, self.scenario, r, top_k=self.top_k, threshold=self.threshold)
                for r in routings]

    def prepare(self, messages: list[Message], sel: Selection) -> list[Message]:
        """The messages the inner model sees, after the system and wrapper modes."""
        rules = rules_text(self.constitution, self.scenario, sel)
        out = list(messages)
        if "system" in self.modes:
            out = apply_system(out, rules)
        if "wrapper" in self.modes:
            reminder = None
            if "system" in self.modes:
                reminder = [clause_name(c, sel.lang) for c in sel.clause_ids if c not in ("general", "jailbreak",
                                                                                          "unclassified")]
                reminder = reminder or [("总体原则" if sel.lang == "zh" else "general principles")]
            out = apply_wrapper(out, rules, sel.lang, reminder_of=reminder)
        return out

    def refusal(self, lang: str) -> str:
        return refusal_text(self.constitution, self.scenario, lang)

    async def aclose(self) -> None:
        await self.router.aclose()
        if self._critic is not None:
            await self._critic.aclose()

    def __repr__(self) -> str:
        return f"<Defense {self.spec}>"


def _user_prompt(messages: list[Message]) -> str:
    i = last_user_index(messages)
    return (messages[i].get("content") or "") if i >= 0 else ""


def _violated_clause(sel: Selection, tags: list[str]) -> str:
    """The clause to state on regeneration: one the critic tagged, else the top routed one, else general."""
    for t in tags:
        for cid in sel.categories + sel.dimensions:
            if t == cid or t.startswith(cid + "."):
                return cid
    for cid in (*sel.categories, *sel.dimensions):
        return cid
    return "unclassified" if sel.unclassified else "general"


class DefendedModel(ModelBackend):
    """A backend behind a constitutional defense. Its config holds the inner config and the defense's.

    Composite: in a run's call scope each inner call (the answer, every re-answer) is a request of its own."""

    composite = True

    def __init__(self, inner: ModelBackend, defense: Defense) -> None:
        super().__init__(inner.spec)
        self.inner = inner
        self.defense = defense
        self.max_batch = inner.max_batch
        self.default_concurrency = inner.default_concurrency

    def config(self) -> dict[str, Any]:
        return {**self.inner.config(), "defense": self.defense.config()}

    async def _generate(self, messages: list[Message], params: GenParams) -> Completion:
        out = (await self.generate_many([messages], params))[0]
        if isinstance(out, ModelCallError):
            raise out
        return out

    async def _generate_many(self, batch: list[list[Message]], params: GenParams) -> list[Completion | ModelCallError]:
        if not batch:
            return []
        if any(not m for m in batch):
            raise SevalError("cannot call a model with no messages")
        d = self.defense
        t0 = time.perf_counter()
        prompts = [_user_prompt(m) for m in batch]
        sels = await d.plan(prompts)
        prepared = [d.prepare(m, s) for m, s in zip(batch, sels, strict=True)]
        overhead = time.perf_counter() - t0
        results: list[Completion | ModelCallError] = list(await self.inner.generate_many(prepared, params))
        infos: list[dict[str, Any]] = [
            {"spec": d.spec, "modes": list(d.modes), "scenario": d.scenario.name, "clauses": s.clause_ids,
             "categories": s.categories, "scores": s.scores, "jailbreak": s.jailbreak, "lang": s.lang,
             "generations": 1, "checked": False, "verdicts": [], "regenerations": 0, "fallback_refusal": False}
            for s in sels]
        if "output-check" in d.modes:
            overhead += await self._output_check(prompts, prepared, sels, results, infos, params)
        share = overhead / len(batch)
        for i, r in enumerate(results):
            if isinstance(r, Completion):
                r.latency_s += share
                r.defense = infos[i]
        return results

    async def _output_check(self, prompts: list[str], prepared: list[list[Message]], sels: list[Selection],
                            results: list[Completion | ModelCallError], infos: list[dict[str, Any]],
                            params: GenParams) -> float:
        """Judge drafts, regenerate violators with the violated clause stated, then fall back to a refusal.

        Returns the seconds spent judging (added to the requests' latency). An `invalid` verdict keeps the
        draft (the check could not tell) and is recorded as such.
        """
        d = self.defense
        critic = d.critic
        judge_s = 0.0
        todo = [i for i, r in enumerate(results)
                if isinstance(r, Completion) and (sels[i].risky or d.check == "all")]
        for attempt in range(d.retries + 1):
            if not todo:
                break
            items = [JudgeItem(prompt=prompts[i], response=results[i].text, lang=sels[i].lang,  # type: ignore[union-attr]
                               dimension=sels[i].dimensions[0] if sels[i].dimensions else None,
                               category=sels[i].categories[0] if sels[i].categories else None, id=str(i))
                     for i in todo]
            t0 = time.perf_counter()
            verdicts = await critic.judge(items)
            judge_s += time.perf_counter() - t0
            violators: list[tuple[int, str]] = []
            for i, v in zip(todo, verdicts, strict=True):
                infos[i]["checked"] = True
                infos[i]["verdicts"].append(v.label)
                if v.label == "unsafe":
                    violators.append((i, _violated_clause(sels[i], v.tags)))
            if not violators:
                break
            if attempt == d.retries:
                for i, cid in violators:
                    self._refuse(results, infos, i, cid)
                break
            regen = [add_instruction(prepared[i], violation_note(d.constitution, d.scenario, cid, sels[i].lang))
                     for i, cid in violators]
            fresh = await self.inner.generate_many(regen, params)
            todo = []
            for (i, cid), new in zip(violators, fresh, strict=True):
                infos[i]["regenerations"] += 1
                infos[i]["violated"] = cid
                if isinstance(new, ModelCallError):
                    self._refuse(results, infos, i, cid)  # the draft was unsafe: do not return it
                    continue
                old = results[i]
                assert isinstance(old, Completion)
                new.usage = Usage(old.usage.prompt_tokens + new.usage.prompt_tokens,
                                  old.usage.completion_tokens + new.usage.completion_tokens)
                new.latency_s += old.latency_s
                infos[i]["generations"] += 1
                results[i] = new
                todo.append(i)
        return judge_s

    def _refuse(self, results: list[Completion | ModelCallError], infos: list[dict[str, Any]], i: int,
                cid: str) -> None:
        old = results[i]
        lang = infos[i]["lang"]
        text = self.defense.refusal(lang)
        if isinstance(old, Completion):
            results[i] = Completion(text=text, model=old.model, finish_reason="defense_refusal", usage=old.usage,
                                    latency_s=old.latency_s)
        infos[i]["fallback_refusal"] = True
        infos[i]["violated"] = cid

    async def aclose(self) -> None:
        await self.inner.aclose()
        await self.defense.aclose()

    def __repr__(self) -> str:
        return f"<DefendedModel {self.inner.spec} with {self.defense.spec}>"
