"""The audit tests' run folder: one real run (seval.api.run_benchmark, scripted target, rule critic) per
session, copied fresh for each test."""

from __future__ import annotations

from pathlib import Path

import pytest
from audit_run import make_run


@pytest.fixture(scope="session")
def _run_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_run(tmp_path_factory.mktemp("audit-run"))


@pytest.fixture
def run_dir(_run_template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the scripted run folder for each test."""
    import shutil

    dst = tmp_path / "run"
    shutil.copytree(_run_template, dst)
    return dst
