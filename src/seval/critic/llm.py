"""LLM-as-judge critic: `llm:<model string>` and its chain-of-thought variant `llm-cot:<model string>`.

The judge sees the test prompt, the response and the risk the test case probes (from the taxonomy), and answers
JSON (verdict, score, risk_tags, explanation). Both quoted texts are FENCED: wrapped in boundary markers that
carry a fresh random nonce per call, with any marker-like text stripped out of them first, so a response
cannot close the fence and speak to the judge.

Fallback judges: `llm:<primary>|<fallback>` (or the option `fallback="<model string>"`). Call errors are
retried by the run's CallPolicy (at most `--max-retries` + 1 requests per judge and judgment), then the next
judge is asked; an unreadable answer gets `retries` extra tries with a different nudge. Unparsable answers,
judge refusals and call errors that outlast every judge give `invalid`, never `safe`. Examples:
    llm:openai:gpt-4o-mini
    llm-cot:openai-compatible:http://127.0.0.1:8000/v1#qwen2.5|openai:gpt-4o-mini
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Awaitable, Callable, Sequence
from functools import cache
from importlib import resources
from typing import Any

from seval.critic.base import CRITICS, Critic
from seval.critic.parsing import Judgment, parse_judgment
from seval.critic.refusal import detect_refusal
from seval.errors import SevalError
from seval.models.base import ModelBackend
from seval.models.policy import CallPolicy, home_policy, model_in_role, with_policy
from seval.models.scope import ensure_scope
from seval.records import GenParams, JudgeItem, Message, ModelCallError, Verdict

#: anything that looks like a boundary marker, whatever its nonce: removed from quoted data before fencing
_MARKER_LIKE = re.compile(r"<{2,}\s*/?\s*(?:BEGIN|END)\b[^<>\n]{0,120}>{2,}", re.I)
MARKER_REMOVED = "[boundary marker removed]"


@cache
def load_templates() -> dict[str, Any]:
    """The packaged judge templates (data/judge_templates.yaml)."""
    import yaml

    text = resources.files("seval.critic").joinpath("data/judge_templates.yaml").read_text("utf-8")
    return yaml.safe_load(text)


def render(template: str, values: dict[str, str]) -> str:
    """Fill {placeholders} in ONE pass: braces inside the substituted data are never expanded."""
    from seval.templating import fill

    return fill(template, values)


def new_nonce() -> str:
    return secrets.token_hex(8)


def fence_markers(nonce: str) -> dict[str, str]:
    """The four boundary markers for one call."""
    return {k: v.replace("{nonce}", nonce) for k, v in load_templates()["markers"].items()}


def sanitize(text: str, nonce: str, max_chars: int = 8000) -> str:
    """Quoted data made safe to fence: marker look-alikes and the nonce removed, long texts cut in the middle."""
    text = _MARKER_LIKE.sub(MARKER_REMOVED, text or "")
    text = text.replace(nonce, "")
    # re-run: removing the nonce could have joined two halves into a new marker-like string
    text = _MARKER_LIKE.sub(MARKER_REMOVED, text)
    if len(text) > max_chars:
        half = max_chars // 2
        text = f"{text[:half]}\n[... {len(text) - 2 * half} characters cut ...]\n{text[-half:]}"
    return text


def risk_context(item: JudgeItem, lang: str) -> tuple[str, str]:
    """(risk description, allowed tag ids) for the judge prompt, from the taxonomy when it knows the ids."""
    zh = lang == "zh"
    try:
        from seval.taxonomy import load_taxonomy

        tax: Any = load_taxonomy()
    except (SevalError, OSError, ValueError):
        tax = None
    parts: list[str] = []
    ids: list[str] = []
    dim = tax.find_dimension(item.dimension) if tax is not None and item.dimension else None
    cat = tax.find_category(item.category) if tax is not None and item.category else None
    leaf = None
    if tax is not None and item.risk:
        leaf = next((r for r in tax.risks if r.id == item.risk), None)
    if dim is None and cat is not None:
        dim = tax.find_dimension(cat.dimension)
    if dim is None and leaf is not None:
        dim = tax.find_dimension(leaf.dimension)
    if cat is None and leaf is not None:
        cat = tax.find_category(leaf.category)
    if dim is not None:
        parts.append(f"{dim.name_zh if zh else dim.name_en} ({dim.id})")
    elif item.dimension:
        parts.append(item.dimension)
    if cat is not None:
        parts.append(f"{cat.name_zh if zh else cat.name_en} ({cat.id})")
        ids.append(cat.id)
    elif item.category:
        parts.append(item.category)
    if leaf is not None:
        scope = leaf.scope_zh if zh and leaf.scope_zh else leaf.scope
        parts.append(f"{leaf.name_zh if zh else leaf.name_en} ({leaf.id})" + (f"{'：' if zh else ': '}{scope}"
                                                                                if scope else ""))
        ids.insert(0, leaf.id)
    elif item.risk:
        parts.append(item.risk)
    desc = " > ".join(parts) if parts else ("未指定：判断任何安全风险" if zh else "not specified: judge any safety risk")
    if tax is not None:
        ids.extend(d.id for d in tax.dimensions)
    return desc, ", ".join(ids) if ids else ("无" if zh else "none")


def normalise_tags(tags: list[str], label: str, item: JudgeItem) -> list[str]:
    """Keep the judge's tags that name taxonomy entries (ids or names -> ids); an unsafe verdict with no usable
    tag is tagged with the test case's own risk. Safe verdicts carry no risk tags."""
    if label != "unsafe":
        return []
    try:
        from seval.taxonomy import load_taxonomy

        tax: Any = load_taxonomy()
    except (SevalError, OSError, ValueError):
        tax = None
    out: list[str] = []
    if tax is not None:
        risk_ids = {r.id for r in tax.risks}
        for t in tags:
            if t in risk_ids:
                tid: str | None = t
            else:
                found = tax.find_category(t) or tax.find_dimension(t)
                tid = found.id if found is not None else None
            if tid and tid not in out:
                out.append(tid)
    if not out:
        own = item.risk or item.category or item.dimension
        if own:
            out.append(own)
    return out[:8]


class LLMCritic(Critic):
    """A chat model judging with the packaged zh/en templates; fenced data, retries, fallback judges."""

    name = "llm"

    def __init__(self, spec: str, judges: list[ModelBackend], cot: bool = False, retries: int = 2,
                 concurrency: int = 8, max_tokens: int | None = None, max_chars: int = 8000) -> None:
        super().__init__(spec)
        if not judges:
            raise SevalError(f"critic {spec!r} names no judge model")
        if retries < 0 or concurrency < 1:
            raise SevalError(f"critic {spec!r}: retries must be >= 0 and concurrency >= 1")
        # each judge is pinned to the judge role; its calls go through the scope of the run it judges for
        self.judges = [with_policy(j, "judge", None, concurrency) for j in judges]
        self.cot = cot
        self.retries = retries
        self.concurrency = concurrency
        self.max_chars = max_chars
        self.params = GenParams(temperature=0.0, top_p=1.0, max_tokens=max_tokens or (1024 if cot else 384), seed=0)

    def config(self) -> dict[str, Any]:
        tpl = load_templates()
        task = "task_cot" if self.cot else "task_direct"
        langs = {lang: {k: t[k] for k in ("system", "user", task, "nudges")} for lang, t in tpl["llm"].items()}
        return {"name": "llm-cot" if self.cot else "llm", "judges": [j.config() for j in self.judges],
                "templates": langs, "markers": tpl["markers"], "params": self.params.to_dict(),
                "retries": self.retries, "max_chars": self.max_chars}

    def messages(self, item: JudgeItem, nonce: str) -> list[Message]:
        """The judge's chat for one item: system rules, then the fenced data and the task."""
        lang = "zh" if item.lang == "zh" else "en"
        tpl = load_templates()["llm"][lang]
        risk, ids = risk_context(item, lang)
        values = dict(fence_markers(nonce), risk=risk, risk_ids=ids,
                      prompt=sanitize(item.prompt, nonce, self.max_chars),
                      response=sanitize(item.response, nonce, self.max_chars),
                      task=tpl["task_cot" if self.cot else "task_direct"])
        return [{"role": "system", "content": tpl["system"]}, {"role": "user", "content": render(tpl["user"], values)}]

    def _retry_messages(self, base: list[Message], lang: str, attempt: int, prev_raw: str | None) -> list[Message]:
        nudges = load_templates()["llm"]["zh" if lang == "zh" else "en"]["nudges"]
        nudge = nudges[(attempt - 1) % len(nudges)]
        if prev_raw:
            return [*base, {"role": "assistant", "content": prev_raw[:2000]}, {"role": "user", "content": nudge}]
        return [*base[:-1], {"role": "user", "content": base[-1]["content"] + "\n\n" + nudge}]

    def to_verdict(self, j: Judgment, item: JudgeItem, raw: str, judge: ModelBackend) -> Verdict:
        score = j.score if j.score is not None else (1.0 if j.label == "unsafe" else 0.0)
        expl = j.explanation or ("the judge gave no explanation")
        if judge is not self.judges[0]:
            expl = f"[fallback judge {judge.spec}] {expl}"
        return self.verdict(j.label, score, expl, normalise_tags(j.tags, j.label, item), raw=raw)

    async def judge_one(self, item: JudgeItem) -> Verdict:
        """Ask each judge in turn (with retries) until one gives a readable verdict; otherwise `invalid`."""
        problems: list[str] = []
        raws: list[str] = []
        for judge in self.judges:
            prev_raw: str | None = None
            for attempt in range(self.retries + 1):
                nonce = new_nonce()
                msgs = self.messages(item, nonce)
                if attempt:
                    msgs = self._retry_messages(msgs, item.lang, attempt, prev_raw)
                try:
                    comp = await judge.generate(msgs, self.params)
                except ModelCallError as exc:
                    # the policy already retried what deserved it: this judge will not do better now
                    problems.append(f"{judge.spec}: error {exc.kind.value}")
                    break
                raw = comp.text or ""
                parsed = parse_judgment(raw)
                if parsed is not None:
                    return self.to_verdict(parsed, item, raw, judge)
                refused = detect_refusal(raw).refused
                problems.append(f"{judge.spec}: {'judge refused' if refused else 'unparsable answer'}")
                raws.append(f"--- {judge.spec} attempt {attempt + 1} ---\n{raw}")
                prev_raw = raw or None
        return self.verdict("invalid", None, "no usable judgment: " + "; ".join(problems),
                            raw="\n".join(raws) if raws else None)

    async def judge(self, items: list[JudgeItem]) -> list[Verdict]:
        # concurrency is the judge's CallGuard limiter (set from `concurrency`), not a semaphore of our own;
        # used on its own (no run), the critic opens a default scope: its calls are still retried and limited
        with ensure_scope(home_policy(self.judges)):
            return await judge_all(self.judge_one, items)

    async def aclose(self) -> None:
        for j in self.judges:
            await j.aclose()


async def judge_all(judge_one: Callable[[JudgeItem], Awaitable[Verdict]],
                    items: Sequence[JudgeItem]) -> list[Verdict]:
    """Judge every item concurrently; when one raises (the run stopped), the others are cancelled."""
    tasks = [asyncio.ensure_future(judge_one(it)) for it in items]
    try:
        return list(await asyncio.gather(*tasks))
    finally:
        for t in tasks:
            t.cancel()


def build_llm_critic(spec: str, rest: str, cot: bool, policy: CallPolicy | None = None, role: str = "judge",
                     **options: Any) -> LLMCritic:
    kind = "llm-cot" if cot else "llm"
    if not rest.strip():
        raise SevalError(f"critic {spec!r} needs a judge model: {kind}:<model string>, e.g. {kind}:openai:gpt-4o-mini")
    names = [s.strip() for s in rest.split("|")]
    fb = options.pop("fallback", None)
    if fb:
        names.extend(s.strip() for s in str(fb).split("|"))
    if any(not n for n in names):
        raise SevalError(f"critic {spec!r}: empty model string around '|'")
    model_options = options.pop("model_options", None) or {}
    allowed = {"retries", "concurrency", "max_tokens", "max_chars"}
    unknown = set(options) - allowed
    if unknown:
        raise SevalError(f"critic {spec!r}: unknown option(s) {', '.join(sorted(unknown))}; valid: "
                         f"{', '.join(sorted(allowed | {'fallback'}))}")
    conc = int(options.get("concurrency", 8))
    judges = [model_in_role(n, role, policy, conc, **model_options) for n in names]
    return LLMCritic(spec, judges, cot=cot, **options)


@CRITICS.register("llm")
def _llm(spec: str, rest: str, policy: CallPolicy | None = None, **options: Any) -> LLMCritic:
    """LLM judge with JSON verdicts: llm:<model>[|<fallback model>]."""
    return build_llm_critic(spec, rest, cot=False, policy=policy, **options)


@CRITICS.register("llm-cot")
def _llm_cot(spec: str, rest: str, policy: CallPolicy | None = None, **options: Any) -> LLMCritic:
    """LLM judge that reasons step by step before its JSON verdict: llm-cot:<model>[|<fallback>]."""
    return build_llm_critic(spec, rest, cot=True, policy=policy, **options)
