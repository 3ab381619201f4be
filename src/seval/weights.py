"""Reading weights that ship inside the package (taggers, critics): one place for the missing-file error."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from seval.errors import SevalError


def read_packaged(package: str, weights_file: str, settings_file: str, trainer: str) -> tuple[bytes, dict[str, Any]]:
    """The weight blob and its JSON settings from `package`; a missing file names the script that makes it."""
    folder = resources.files(package)
    try:
        blob = folder.joinpath(weights_file).read_bytes()
        info = json.loads(folder.joinpath(settings_file).read_text("utf-8"))
    except (FileNotFoundError, OSError):
        out = "src/" + package.replace(".", "/") + "/"
        raise SevalError(f"the packaged weights {weights_file} are missing: run python {trainer} --out {out}") from None
    return blob, info
