"""The S-Eval risk tree (8 dimensions > 25 categories > fine-grained risks), loaded from taxonomy.yaml."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from seval.errors import SevalError


def _norm(name: str) -> str:
    """Case-, space- and underscore-insensitive key: 'Crimes_and_Illegal_Activities' == 'crimes and illegal activities'."""
    return re.sub(r"[\s_\-]+", " ", name.strip()).lower()


@dataclass(slots=True)
class Risk:
    id: str
    name_en: str
    name_zh: str
    scope: str
    scope_zh: str
    category: str
    dimension: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name_en": self.name_en, "name_zh": self.name_zh,
                "scope": self.scope, "scope_zh": self.scope_zh}


@dataclass(slots=True)
class Category:
    id: str
    name_en: str
    name_zh: str
    dimension: str
    aliases: list[str] = field(default_factory=list)
    risks: list[Risk] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name_en": self.name_en, "name_zh": self.name_zh, "aliases": self.aliases,
                "risks": [r.to_dict() for r in self.risks]}


@dataclass(slots=True)
class Dimension:
    id: str
    key: str
    name_en: str
    name_zh: str
    categories: list[Category] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "key": self.key, "name_en": self.name_en, "name_zh": self.name_zh,
                "categories": [c.to_dict() for c in self.categories]}


class Taxonomy:
    """Lookups by id, name (en/zh, any spacing) or alias, at each level."""

    def __init__(self, dimensions: list[Dimension]) -> None:
        self.dimensions = dimensions
        self.categories = [c for d in dimensions for c in d.categories]
        self.risks = [r for c in self.categories for r in c.risks]
        self._dim: dict[str, Dimension] = {}
        self._cat: dict[str, Category] = {}
        self._risk: dict[str, Risk] = {r.id: r for r in self.risks}
        for d in dimensions:
            for key in (d.id, d.key, d.name_en, d.name_zh):
                self._dim[_norm(key)] = d
        for c in self.categories:
            for key in (c.id, c.name_en, c.name_zh, *c.aliases):
                self._cat[_norm(key)] = c

    def dimension(self, name: str) -> Dimension:
        try:
            return self._dim[_norm(name)]
        except KeyError:
            raise SevalError(f"unknown risk dimension {name!r}; valid: "
                             + ", ".join(f"{d.id} ({d.key})" for d in self.dimensions)) from None

    def category(self, name: str) -> Category:
        try:
            return self._cat[_norm(name)]
        except KeyError:
            raise SevalError(f"unknown risk category {name!r}; valid: "
                             + ", ".join(c.name_en for c in self.categories)) from None

    def risk(self, risk_id: str) -> Risk:
        try:
            return self._risk[risk_id]
        except KeyError:
            raise SevalError(f"unknown risk {risk_id!r}; see `seval taxonomy` for the {len(self.risks)} valid ids") from None

    def find_dimension(self, name: str) -> Dimension | None:
        return self._dim.get(_norm(name))

    def find_category(self, name: str) -> Category | None:
        return self._cat.get(_norm(name))

    def resolve_risk_type(self, name: str) -> tuple[str, str | None]:
        """Map an S-Eval `risk_type` (a dimension, or a category in some releases) to (dimension id, category id)."""
        d = self.find_dimension(name)
        if d is not None:
            return d.id, None
        c = self.find_category(name)
        if c is not None:
            return c.dimension, c.id
        valid = ", ".join(d.key for d in self.dimensions)
        raise SevalError(f"unknown risk_type {name!r}; valid dimensions: {valid} (or one of the 25 category names)")

    def to_dict(self) -> dict[str, Any]:
        return {"dimensions": [d.to_dict() for d in self.dimensions]}


def _parse(data: dict[str, Any], source: str) -> Taxonomy:
    try:
        dims: list[Dimension] = []
        for dd in data["dimensions"]:
            dim = Dimension(dd["id"], dd["key"], dd["name_en"], dd["name_zh"])
            for cc in dd["categories"]:
                cat = Category(cc["id"], cc["name_en"], cc["name_zh"], dim.id, list(cc.get("aliases") or []))
                for rr in cc.get("risks") or []:
                    cat.risks.append(Risk(rr["id"], rr["name_en"], rr["name_zh"], rr.get("scope", ""),
                                          rr.get("scope_zh", ""), cat.id, dim.id))
                dim.categories.append(cat)
            dims.append(dim)
    except (KeyError, TypeError) as exc:
        raise SevalError(f"{source}: malformed taxonomy, missing or bad field {exc}") from None
    return Taxonomy(dims)


@cache
def load_taxonomy(path: str | None = None) -> Taxonomy:
    """Load the packaged taxonomy (or a user's YAML with the same schema)."""
    import yaml

    if path is None:
        text = resources.files("seval.taxonomy").joinpath("taxonomy.yaml").read_text(encoding="utf-8")
        source = "taxonomy.yaml"
    else:
        text = Path(path).read_text(encoding="utf-8")
        source = path
    return _parse(yaml.safe_load(text), source)
