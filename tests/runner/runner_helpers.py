"""Small helpers shared by the runner tests."""

from __future__ import annotations

import json
from pathlib import Path

from seval.runner.faultserver import SpawnedServer


def target(srv: SpawnedServer) -> str:
    return f"openai-compatible:{srv.url}#fault"


def read_results(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]
