"""Filling `{name}` placeholders: the one template filler (attack templates, judge prompts, generator prompts).

One pass over the template: braces inside the substituted values are never expanded (a test prompt that holds
`{question}` stays as written), and braces that are not a `{name}` field are left alone. `strict` makes an
unknown field an error, for templates whose fields are all known (the generator's).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from seval.errors import SevalError

FIELD = re.compile(r"\{(\w+)\}")


def fill(template: str, values: Mapping[str, Any] | None = None, /, *, strict: bool = False, **more: Any) -> str:
    """`template` with each `{name}` replaced by `values[name]` (or a keyword); unknown fields kept (or an error)."""
    vals: dict[str, Any] = {**(values or {}), **more}

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name in vals:
            return str(vals[name])
        if strict:
            raise SevalError(f"template field {{{name}}} has no value; known: {', '.join(sorted(vals))}")
        return m.group(0)

    return FIELD.sub(sub, template)


def fields(template: str) -> set[str]:
    """The `{name}` fields a template uses."""
    return set(FIELD.findall(template))
