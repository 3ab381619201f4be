"""Fixtures of the defense tests (the doubles live in defense_doubles.py, which registers them)."""

from __future__ import annotations

import pytest
from defense_doubles import RecordingBackend


@pytest.fixture
def recorder() -> RecordingBackend:
    return RecordingBackend()
