"""One registry pattern for models, attacks, critics and taggers: a decorator, a lazy scan of one package, and
plugins from other packages through Python entry points.

A new backend, attack or critic is one new module in the registry's package that decorates its class with
``@REGISTRY.register("name")``; nothing else has to change. Another package adds its own by declaring an
entry point in the registry's group (``seval.models``, ``seval.critics``, ``seval.attacks``,
``seval.taggers``), e.g. in its pyproject.toml::

    [project.entry-points."seval.critics"]
    mycritic = "my_pkg.critics:build_my_critic"   # the factory (or class) itself, or a module that registers it

Entry points are read from package metadata at start-up (no plugin code is imported) and loaded only when
their name is asked for, or when the registry is listed with `items()`.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable
from importlib.metadata import EntryPoint, entry_points
from typing import Generic, TypeVar, cast

from seval.errors import SevalError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps names to factories; the owning package's modules are imported on first lookup, plugins on demand."""

    def __init__(self, kind: str, package: str, group: str | None = None) -> None:
        self.kind = kind
        self.package = package
        #: the entry-point group other packages register into (None: no plugins)
        self.group = group
        self._items: dict[str, T] = {}
        self._scanned = False
        self._plugins: dict[str, EntryPoint] | None = None

    def register(self, name: str, *aliases: str) -> Callable[[T], T]:
        def deco(obj: T) -> T:
            for key in (name, *aliases):
                if key in self._items and self._items[key] is not obj:
                    raise RuntimeError(f"{self.kind} {key!r} registered twice")
                self._items[key] = obj
            return obj

        return deco

    def _scan(self) -> None:
        if self._scanned:
            return
        self._scanned = True
        pkg = importlib.import_module(self.package)
        for info in pkgutil.iter_modules(pkg.__path__):
            if not info.name.startswith("_"):
                importlib.import_module(f"{self.package}.{info.name}")

    def plugins(self) -> dict[str, EntryPoint]:
        """Entry points of other packages in this registry's group, by name (metadata only, nothing imported)."""
        if self._plugins is None:
            found = entry_points(group=self.group) if self.group else ()
            self._plugins = {ep.name: ep for ep in found}
        return self._plugins

    def _load_plugin(self, name: str) -> None:
        ep = self.plugins().get(name)
        if ep is None or name in self._items:
            return
        try:
            obj = ep.load()
        except Exception as exc:
            raise SevalError(f"{self.kind} plugin {name!r} ({ep.value}) failed to load: "
                             f"{type(exc).__name__}: {exc}") from None
        if inspect.ismodule(obj):  # a module whose decorators registered the name on import
            if name not in self._items:
                raise SevalError(f"{self.kind} plugin {name!r}: module {ep.value} did not register {name!r}")
            return
        self._items[name] = cast(T, obj)

    def get(self, name: str) -> T:
        self._scan()
        if name not in self._items:
            self._load_plugin(name)
        try:
            return self._items[name]
        except KeyError:
            raise SevalError(
                f"unknown {self.kind} {name!r}; valid: {', '.join(self.names())}"
            ) from None

    def names(self) -> list[str]:
        """Built-in and plugin names (plugins are not loaded to list their names)."""
        self._scan()
        return sorted(set(self._items) | set(self.plugins()))

    def items(self) -> list[tuple[str, T]]:
        """Every (name, factory), plugins loaded."""
        self._scan()
        for name in self.plugins():
            self._load_plugin(name)
        return sorted(self._items.items())
