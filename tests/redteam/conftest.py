"""Fixtures for the red-team tests: the fault server as an OpenAI-compatible target and attacker on 127.0.0.1."""

from __future__ import annotations

import pytest

from seval.runner.faultserver import SpawnedServer


@pytest.fixture
def server(fault: SpawnedServer) -> SpawnedServer:
    """Every request answered with a canned refusal (the target never complies), no faults, counters at zero."""
    fault.configure(refusal_share=1.0)
    return fault
