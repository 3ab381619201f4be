"""The package import graph (every import, including those inside functions) has no cycle between
top-level subpackages and modules of seval: each layer only reaches down."""

from __future__ import annotations

import ast
from pathlib import Path

import seval

ROOT = Path(seval.__file__).parent


def _module_name(path: Path) -> list[str]:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def _imports(path: Path) -> set[str]:
    """Fully qualified seval modules imported anywhere in a file (top level, functions, TYPE_CHECKING)."""
    parts = _module_name(path)
    pkg = parts if path.name == "__init__.py" else parts[:-1]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = pkg[: len(pkg) - node.level + 1] if node.level else []
            mod = ".".join([*base, *([node.module] if node.module else [])])
            out.add(mod)
            out.update(f"{mod}.{a.name}" for a in node.names)  # `from seval import api` names a module
    return {m for m in out if m == "seval" or m.startswith("seval.")}


def graph() -> dict[str, set[str]]:
    """top-level unit (seval.<x>) -> the top-level units it imports."""
    units = {p.stem if p.is_file() else p.name for p in ROOT.iterdir()
             if (p.suffix == ".py" and p.stem != "__init__") or (p.is_dir() and (p / "__init__.py").is_file())}
    edges: dict[str, set[str]] = {u: set() for u in units}
    for f in ROOT.rglob("*.py"):
        parts = _module_name(f)
        if len(parts) < 2:
            continue  # seval/__init__.py
        src = parts[1]
        for m in _imports(f):
            bits = m.split(".")
            if len(bits) > 1 and bits[1] in units and bits[1] != src:
                edges[src].add(bits[1])
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycle_between_subpackages() -> None:
    g = graph()
    found = cycles(g)
    detail = {c[0]: {v: sorted(g[v] & set(c)) for v in c} for c in found}
    assert not found, f"import cycles between seval subpackages: {detail}"


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_function_level_imports_are_seen(tmp_path: Path) -> None:
    f = ROOT / "api.py"
    assert "seval.runs.pipeline" in _imports(f)
    assert graph()["api"] >= {"runs"}
