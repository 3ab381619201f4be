"""One registry pattern for models, attacks and critics: a decorator plus a lazy scan of one package.

A new backend, attack or critic is one new module in the registry's package that decorates its class with
``@REGISTRY.register("name")``; nothing else has to change.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from typing import Generic, TypeVar

from seval.errors import SevalError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps names to factories; the owning package's modules are imported on first lookup."""

    def __init__(self, kind: str, package: str) -> None:
        self.kind = kind
        self.package = package
        self._items: dict[str, T] = {}
        self._scanned = False

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

    def get(self, name: str) -> T:
        self._scan()
        try:
            return self._items[name]
        except KeyError:
            raise SevalError(
                f"unknown {self.kind} {name!r}; valid: {', '.join(sorted(self._items))}"
            ) from None

    def names(self) -> list[str]:
        self._scan()
        return sorted(self._items)

    def items(self) -> list[tuple[str, T]]:
        self._scan()
        return sorted(self._items.items())
