"""The ambient call scope: which call policy and role a model call inside a run goes through.

A run (and every other library call that calls models) opens its `CallPolicy` as a scope
(`with policy.scope(): ...`, a context variable, so it follows asyncio tasks and `asyncio.to_thread`). Every
`ModelBackend` call made inside goes through that policy's guard for (role, backend), whoever built the
backend: a critic object, a defense's router, a tagger, `DefendedModel`'s re-answers. The role is the one the
caller declared with `call_role(...)` (a `PolicyBackend` declares its own), "target" otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from seval.models.policy import CallPolicy

_SCOPE: ContextVar[CallPolicy | None] = ContextVar("seval_call_scope", default=None)
_ROLE: ContextVar[str] = ContextVar("seval_call_role", default="target")
#: True while a guard sends a request: the backend's own calls are the request, not new ones
_SENDING: ContextVar[bool] = ContextVar("seval_call_sending", default=False)


def current_scope() -> CallPolicy | None:
    """The policy of the innermost open scope, None outside any (direct use of a backend)."""
    return _SCOPE.get()


def current_role() -> str:
    return _ROLE.get()


def sending() -> bool:
    return _SENDING.get()


@contextmanager
def _set(var: ContextVar[Any], value: Any) -> Iterator[None]:
    token = var.set(value)
    try:
        yield
    finally:
        var.reset(token)


def open_scope(policy: CallPolicy) -> Any:
    """Make `policy` the ambient scope for the block (nested scopes: the innermost wins)."""
    return _set(_SCOPE, policy)


def call_role(role: str) -> Any:
    """Model calls made in the block are in `role` (judge, router, defense, ...)."""
    return _set(_ROLE, role)


def as_sent() -> Any:
    """The block is one request a guard already admitted and meters."""
    return _set(_SENDING, True)


@contextmanager
def ensure_scope(policy: CallPolicy | None = None) -> Iterator[CallPolicy]:
    """The ambient scope if one is open (a run's), else `policy` (or a default one) opened for the block:
    a library entry point used on its own still retries and limits its calls."""
    found = current_scope()
    if found is not None:
        yield found
        return
    if policy is None:
        from seval.models.policy import CallPolicy

        policy = CallPolicy()
    with open_scope(policy):
        yield policy
