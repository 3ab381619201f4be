"""The defense spec string: `constitution:NAME[:SCENARIO][+MODE...][?key=value&...]`.

    constitution:default                                  system mode, general scenario
    constitution:default:children_education               a scenario profile
    constitution:./mine.yaml:medical_information          a user's file, by path
    constitution:default+system+output-check              modes after '+'
    constitution:default?modes=wrapper,output-check&critic=rule&retries=2

Query keys: modes (',' or '+' separated; default system), critic (output-check's critic; default embedded,
else rule), retries (regenerations before the refusal; default 1), router (tagger, the default | tagger:<tagger> | tagger+lexicon | lexicon | lexicon-only |
llm:<model>), threshold (router score for a clause to apply; default the scenario's), top_k (categories per
prompt; default 2), check (risky: only risky-routed prompts are checked | all).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from seval.errors import SevalError

if TYPE_CHECKING:
    from seval.defense.defended import Defense

PREFIX = "constitution:"
KEYS = ("modes", "critic", "retries", "router", "threshold", "top_k", "check")
_MODE_ALIASES = {"system": "system", "wrapper": "wrapper", "wrap": "wrapper", "output-check": "output-check",
                 "output_check": "output-check", "check": "output-check"}
EXAMPLE = "e.g. constitution:default, constitution:default:medical_information?modes=system,output-check"


def _modes(text: str, spec: str) -> list[str]:
    out = []
    for raw in text.replace("+", ",").split(","):
        m = raw.strip().lower()
        if not m:
            continue
        if m not in _MODE_ALIASES:
            raise SevalError(f"bad defense spec {spec!r}: unknown mode {raw.strip()!r}; valid: system, wrapper, "
                             "output-check")
        out.append(_MODE_ALIASES[m])
    return out


def parse_defense_spec(spec: str) -> dict[str, Any]:
    """Split a spec into Defense keyword arguments; errors say what is wrong in one line."""
    if not isinstance(spec, str) or not spec.strip():
        raise SevalError(f"empty defense spec; expected constitution:NAME[:SCENARIO], {EXAMPLE}")
    spec = spec.strip()
    if not spec.startswith(PREFIX):
        raise SevalError(f"bad defense spec {spec!r}: expected constitution:NAME[:SCENARIO][?modes=...], {EXAMPLE}")
    rest, _, query = spec[len(PREFIX):].partition("?")
    body, *plus_modes = rest.split("+")
    body = body.strip()
    if not body:
        raise SevalError(f"bad defense spec {spec!r}: missing the constitution name, {EXAMPLE}")
    name, scenario = body, None
    if not (body.endswith((".yaml", ".yml")) or Path(body).expanduser().is_file()) and ":" in body:
        name, scenario = body.rsplit(":", 1)
        if not scenario:
            raise SevalError(f"bad defense spec {spec!r}: empty scenario after ':', {EXAMPLE}")
    kwargs: dict[str, Any] = {"constitution": name, "scenario": scenario, "spec": spec}
    modes = _modes(",".join(plus_modes), spec) if plus_modes else []
    for part in filter(None, query.split("&")):
        key, eq, value = part.partition("=")
        key = key.strip().lower()
        if key not in KEYS:
            raise SevalError(f"bad defense spec {spec!r}: unknown option {key!r}; valid: {', '.join(KEYS)}")
        if not eq or not value.strip():
            raise SevalError(f"bad defense spec {spec!r}: option {key!r} needs a value ({key}=...)")
        value = value.strip()
        if key == "modes":
            modes += _modes(value, spec)
        elif key in ("retries", "top_k"):
            try:
                kwargs[key] = int(value)
            except ValueError:
                raise SevalError(f"bad defense spec {spec!r}: {key} must be an integer, got {value!r}") from None
        elif key == "threshold":
            try:
                kwargs[key] = float(value)
            except ValueError:
                raise SevalError(f"bad defense spec {spec!r}: threshold must be a number, got {value!r}") from None
        else:
            kwargs[key] = value
    kwargs["modes"] = modes or ["system"]
    return kwargs


def resolve_defense(spec: str) -> Defense:
    """Build the Defense a spec names (loads and validates the constitution)."""
    from seval.defense.defended import Defense

    return Defense(**parse_defense_spec(spec))
