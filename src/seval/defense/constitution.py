"""Constitutions as data: load, validate and resolve a constitution file plus one of its scenario profiles.

A constitution is one YAML file (`seval/defense/constitutions/<name>.yaml`, or any path). Every text is
either a string (used for both languages) or a mapping `{en: ..., zh: ...}`. Top-level fields:

    name: str                     # required
    version: int                  # optional, default 1
    description: text             # optional
    general: {en: [str], zh: [str]} | [str]   # required: principles applied to every prompt
    jailbreak: text               # optional: applied when the router sees a jailbreak framing
    unclassified: text            # optional: risky prompt but no category matched
    refusal: text                 # required: the safe refusal returned when the output check gives up
    dimensions: {DIM_ID: clause}  # dimension ids (CI, CS, DP, EM, PM, HS, EX, IS)
    categories: {CATEGORY_ID: clause}   # category ids, e.g. CI.drug_crimes (see `seval taxonomy`)
    scenarios: {NAME: scenario}   # optional; `general` is implied when absent

    clause   = {refuse: text, answer: text, redirect: text}   # at least one of the three
    scenario = {description: text, add_general: {en: [..], zh: [..]} | [..],
                always: [ids], drop: [ids], override: {ID: partial clause},
                refusal_style: text, refusal: text, threshold: float in (0, 1]}

`always` clauses apply to every prompt in that scenario (tightening), `drop` ones never (relaxing),
`override` replaces parts of a clause, `refusal_style` is stated to the model, `refusal` replaces the
fallback refusal, and `threshold` is the router score above which a category's clauses apply.
Errors name the file and the field in one line.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from seval.errors import SevalError

LANGS = ("en", "zh")
CLAUSE_PARTS = ("refuse", "answer", "redirect")
_TOP_KEYS = {"name", "version", "description", "general", "jailbreak", "unclassified", "refusal", "dimensions",
             "categories", "scenarios"}
_SCENARIO_KEYS = {"description", "add_general", "always", "drop", "override", "refusal_style", "refusal",
                  "threshold"}
DEFAULT_THRESHOLD = 0.5

Text = dict[str, str]  # lang -> text


@dataclass(frozen=True, slots=True)
class Clause:
    """One rule: what to refuse, what to answer safely and helpfully, how to redirect (per language)."""

    id: str
    refuse: Text = field(default_factory=dict)
    answer: Text = field(default_factory=dict)
    redirect: Text = field(default_factory=dict)

    def merged(self, other: Clause) -> Clause:
        """This clause with the parts `other` sets replaced (scenario overrides)."""
        return Clause(self.id, {**self.refuse, **other.refuse}, {**self.answer, **other.answer},
                      {**self.redirect, **other.redirect})


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    description: Text = field(default_factory=dict)
    add_general: dict[str, list[str]] = field(default_factory=dict)
    always: tuple[str, ...] = ()
    drop: tuple[str, ...] = ()
    override: dict[str, Clause] = field(default_factory=dict)
    refusal_style: Text = field(default_factory=dict)
    refusal: Text = field(default_factory=dict)
    threshold: float = DEFAULT_THRESHOLD


@dataclass(frozen=True)
class Constitution:
    name: str
    source: str
    content_hash: str
    general: dict[str, list[str]]
    refusal: Text
    dimensions: dict[str, Clause]
    categories: dict[str, Clause]
    scenarios: dict[str, Scenario]
    version: int = 1
    description: Text = field(default_factory=dict)
    jailbreak: Text = field(default_factory=dict)
    unclassified: Text = field(default_factory=dict)

    def scenario(self, name: str | None) -> Scenario:
        name = name or "general"
        try:
            return self.scenarios[name]
        except KeyError:
            raise SevalError(f"constitution {self.name!r} ({self.source}) has no scenario {name!r}; valid: "
                             f"{', '.join(sorted(self.scenarios))}") from None


class _Checker:
    """Validates the raw YAML; every error names the file and the dotted field path."""

    def __init__(self, source: str) -> None:
        self.source = source
        from seval.taxonomy import load_taxonomy

        tax = load_taxonomy()
        self.dims = [d.id for d in tax.dimensions]
        self.cats = [c.id for c in tax.categories]
        self.cat_dim = {c.id: c.dimension for c in tax.categories}

    def fail(self, where: str, msg: str) -> SevalError:
        return SevalError(f"{self.source}: field {where!r}: {msg}")

    def text(self, v: Any, where: str, required: bool = True) -> Text:
        if v is None and not required:
            return {}
        if isinstance(v, str) and v.strip():
            return {lang: v.strip() for lang in LANGS}
        if isinstance(v, dict) and v:
            bad = sorted(set(v) - set(LANGS))
            if bad:
                raise self.fail(where, f"unknown language key(s) {bad}; valid: en, zh")
            out: Text = {}
            for lang, s in v.items():
                if not isinstance(s, str) or not s.strip():
                    raise self.fail(f"{where}.{lang}", "must be a non-empty string")
                out[lang] = s.strip()
            return out
        raise self.fail(where, "must be a non-empty string or a mapping {en: ..., zh: ...}")

    def lines(self, v: Any, where: str, required: bool = True) -> dict[str, list[str]]:
        if v is None and not required:
            return {}
        if isinstance(v, list):
            v = {lang: v for lang in LANGS}
        if not isinstance(v, dict) or not v:
            raise self.fail(where, "must be a list of strings or a mapping {en: [...], zh: [...]}")
        out: dict[str, list[str]] = {}
        for lang, items in v.items():
            if lang not in LANGS:
                raise self.fail(where, f"unknown language key {lang!r}; valid: en, zh")
            if not isinstance(items, list) or not items or not all(isinstance(s, str) and s.strip() for s in items):
                raise self.fail(f"{where}.{lang}", "must be a non-empty list of non-empty strings")
            out[lang] = [s.strip() for s in items]
        return out

    def clause_id(self, cid: Any, where: str) -> str:
        if cid in self.dims or cid in self.cats:
            return str(cid)
        raise self.fail(where, f"unknown dimension or category id {cid!r}; valid dimensions: {', '.join(self.dims)}; "
                               f"valid categories: {', '.join(self.cats)}")

    def clause(self, cid: str, v: Any, where: str) -> Clause:
        if not isinstance(v, dict):
            raise self.fail(where, "must be a mapping with refuse/answer/redirect")
        bad = sorted(set(v) - set(CLAUSE_PARTS))
        if bad:
            raise self.fail(where, f"unknown key(s) {bad}; valid: {', '.join(CLAUSE_PARTS)}")
        if not any(v.get(p) for p in CLAUSE_PARTS):
            raise self.fail(where, "needs at least one of refuse, answer, redirect")
        parts = {p: self.text(v.get(p), f"{where}.{p}", required=False) for p in CLAUSE_PARTS}
        return Clause(cid, parts["refuse"], parts["answer"], parts["redirect"])

    def clause_map(self, v: Any, where: str, valid: list[str], kind: str) -> dict[str, Clause]:
        if v is None:
            return {}
        if not isinstance(v, dict):
            raise self.fail(where, f"must be a mapping from {kind} id to clause")
        out = {}
        for cid, body in v.items():
            if cid not in valid:
                raise self.fail(f"{where}.{cid}", f"unknown {kind} id {cid!r}; valid: {', '.join(valid)}")
            out[cid] = self.clause(cid, body, f"{where}.{cid}")
        return out

    def ids(self, v: Any, where: str) -> tuple[str, ...]:
        if v is None:
            return ()
        if not isinstance(v, list):
            raise self.fail(where, "must be a list of dimension or category ids")
        return tuple(self.clause_id(x, f"{where}[{i}]") for i, x in enumerate(v))

    def scenario(self, name: str, v: Any) -> Scenario:
        where = f"scenarios.{name}"
        if v is None:
            v = {}
        if not isinstance(v, dict):
            raise self.fail(where, "must be a mapping")
        bad = sorted(set(v) - _SCENARIO_KEYS)
        if bad:
            raise self.fail(where, f"unknown key(s) {bad}; valid: {', '.join(sorted(_SCENARIO_KEYS))}")
        override = {}
        ov = v.get("override") or {}
        if not isinstance(ov, dict):
            raise self.fail(f"{where}.override", "must be a mapping from id to partial clause")
        for cid, body in ov.items():
            self.clause_id(cid, f"{where}.override.{cid}")
            override[cid] = self.clause(cid, body, f"{where}.override.{cid}")
        threshold = v.get("threshold", DEFAULT_THRESHOLD)
        if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 < threshold <= 1:
            raise self.fail(f"{where}.threshold", f"must be a number in (0, 1], got {threshold!r}")
        return Scenario(
            name=name,
            description=self.text(v.get("description"), f"{where}.description", required=False),
            add_general=self.lines(v.get("add_general"), f"{where}.add_general", required=False),
            always=self.ids(v.get("always"), f"{where}.always"),
            drop=self.ids(v.get("drop"), f"{where}.drop"),
            override=override,
            refusal_style=self.text(v.get("refusal_style"), f"{where}.refusal_style", required=False),
            refusal=self.text(v.get("refusal"), f"{where}.refusal", required=False),
            threshold=float(threshold),
        )


def parse_constitution(data: Any, source: str) -> Constitution:
    """Validate a constitution's parsed YAML and build it; raises SevalError naming `source` and the field."""
    ck = _Checker(source)
    if not isinstance(data, dict):
        raise SevalError(f"{source}: a constitution must be a YAML mapping with name, general, refusal, ...")
    bad = sorted(set(data) - _TOP_KEYS)
    if bad:
        raise ck.fail(bad[0], f"unknown top-level key(s) {bad}; valid: {', '.join(sorted(_TOP_KEYS))}")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ck.fail("name", "required, a non-empty string")
    version = data.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool):
        raise ck.fail("version", f"must be an integer, got {version!r}")
    if "general" not in data:
        raise ck.fail("general", "required: the principles applied to every prompt")
    if "refusal" not in data:
        raise ck.fail("refusal", "required: the safe refusal returned when the output check gives up")
    raw_scen = data.get("scenarios") or {}
    if not isinstance(raw_scen, dict):
        raise ck.fail("scenarios", "must be a mapping from scenario name to profile")
    scenarios = {str(n): ck.scenario(str(n), body) for n, body in raw_scen.items()}
    scenarios.setdefault("general", Scenario("general"))
    canon = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
    return Constitution(
        name=name.strip(),
        source=source,
        content_hash=hashlib.sha256(canon.encode("utf-8")).hexdigest()[:16],
        general=ck.lines(data["general"], "general"),
        refusal=ck.text(data["refusal"], "refusal"),
        dimensions=ck.clause_map(data.get("dimensions"), "dimensions", ck.dims, "dimension"),
        categories=ck.clause_map(data.get("categories"), "categories", ck.cats, "category"),
        scenarios=scenarios,
        version=version,
        description=ck.text(data.get("description"), "description", required=False),
        jailbreak=ck.text(data.get("jailbreak"), "jailbreak", required=False),
        unclassified=ck.text(data.get("unclassified"), "unclassified", required=False),
    )


def builtin_names() -> list[str]:
    folder = resources.files("seval.defense").joinpath("constitutions")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def _looks_like_path(name: str) -> bool:
    return name.endswith((".yaml", ".yml")) or "/" in name or "\\" in name or name.startswith(".")


@cache
def _load_cached(name: str, mtime: float) -> Constitution:
    import yaml

    if _looks_like_path(name):
        path = Path(name).expanduser()
        if not path.is_file():
            raise SevalError(f"constitution file not found: {name}")
        text, source = path.read_text(encoding="utf-8"), str(path)
    else:
        res = resources.files("seval.defense").joinpath(f"constitutions/{name}.yaml")
        if not res.is_file():
            raise SevalError(f"unknown constitution {name!r}; built in: {', '.join(builtin_names())} "
                             "(or give a path to a .yaml file)")
        text, source = res.read_text(encoding="utf-8"), f"constitutions/{name}.yaml"
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise SevalError(f"{source}: not valid YAML{at}: {getattr(exc, 'problem', exc)}") from None
    return parse_constitution(data, source)


def load_constitution(name: str) -> Constitution:
    """A built-in constitution by name (`default`) or a user's YAML file by path; validated on load."""
    if not name:
        raise SevalError("empty constitution name; built in: " + ", ".join(builtin_names()))
    mtime = 0.0
    if _looks_like_path(name):
        p = Path(name).expanduser()
        mtime = p.stat().st_mtime if p.is_file() else 0.0
    return _load_cached(name, mtime)
