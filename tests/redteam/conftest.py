"""Fixtures for the red-team tests: a fault server (an OpenAI-compatible target and attacker on 127.0.0.1)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from seval.runner.faultserver import FaultConfig, SpawnedServer

DEFAULTS = {k: v for k, v in FaultConfig().__dict__.items() if k != "seed"}


@pytest.fixture(scope="module")
def _server() -> Iterator[SpawnedServer]:
    with SpawnedServer() as srv:
        yield srv


@pytest.fixture
def server(_server: SpawnedServer) -> SpawnedServer:
    """Every request answered with a canned refusal (the target never complies), no faults, counters at zero."""
    _server.configure(**{**DEFAULTS, "refusal_share": 1.0}, seed=0)
    _server.reset()
    return _server
