"""Fixtures of the defense tests (the doubles live in defense_doubles.py, which registers them)."""

from __future__ import annotations

import pytest
from defense_doubles import RecordingBackend


@pytest.fixture(autouse=True)
def lexicon_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Routing in these tests is the lexicon's alone, whether or not the embedded classifier is installed."""
    import seval.defense.router as router_mod

    monkeypatch.setattr(router_mod, "_embedded_identity", lambda: None)
    monkeypatch.setattr(router_mod, "DEFAULT_ROUTER", "lexicon")


@pytest.fixture
def recorder() -> RecordingBackend:
    return RecordingBackend()
