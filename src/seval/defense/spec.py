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

from seval.spec import parse_spec, spec_error

if TYPE_CHECKING:
    from seval.defense.defended import Defense
    from seval.models.policy import CallPolicy

PREFIX = "constitution:"
KEYS = ("modes", "critic", "retries", "router", "threshold", "top_k", "check")
_MODE_ALIASES = {"system": "system", "wrapper": "wrapper", "wrap": "wrapper", "output-check": "output-check",
                 "output_check": "output-check", "check": "output-check"}
EXAMPLE_SPEC = "constitution:default:medical_information?modes=system,output-check"
EXAMPLE = "e.g. constitution:default, constitution:default:medical_information?modes=system,output-check"


def _modes(text: str, spec: str) -> list[str]:
    out = []
    for raw in text.replace("+", ",").split(","):
        m = raw.strip().lower()
        if not m:
            continue
        if m not in _MODE_ALIASES:
            raise spec_error("defense", spec, f"unknown mode {raw.strip()!r}; valid: system, wrapper, output-check")
        out.append(_MODE_ALIASES[m])
    return out


def parse_defense_spec(spec: str) -> dict[str, Any]:
    """Split a spec into Defense keyword arguments (seval.spec's grammar); errors say what is wrong in one line."""
    parsed = parse_spec(spec, "defense", query=True, allowed=KEYS,
                        example="constitution:NAME[:SCENARIO], " + EXAMPLE.removeprefix("e.g. "))
    spec = parsed.raw
    if parsed.name != PREFIX.rstrip(":"):
        raise spec_error("defense", spec, "expected constitution:NAME[:SCENARIO][?modes=...]", EXAMPLE_SPEC)
    body, *plus_modes = parsed.body.split("+")
    body = body.strip()
    if not body:
        raise spec_error("defense", spec, "missing the constitution name", EXAMPLE_SPEC)
    name, scenario = body, None
    if not (body.endswith((".yaml", ".yml")) or Path(body).expanduser().is_file()) and ":" in body:
        name, scenario = body.rsplit(":", 1)
        if not scenario:
            raise spec_error("defense", spec, "empty scenario after ':'", EXAMPLE_SPEC)
    kwargs: dict[str, Any] = {"constitution": name, "scenario": scenario, "spec": spec}
    modes = _modes(",".join(plus_modes), spec) if plus_modes else []
    for key, value in parsed.options.items():
        if key == "modes":
            modes += _modes(str(value), spec)
        elif key in ("retries", "top_k"):
            if not isinstance(value, int) or isinstance(value, bool):
                raise spec_error("defense", spec, f"{key} must be an integer, got {value!r}")
            kwargs[key] = value
        elif key == "threshold":
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise spec_error("defense", spec, f"threshold must be a number, got {value!r}")
            kwargs[key] = float(value)
        else:
            kwargs[key] = str(value)
    kwargs["modes"] = modes or ["system"]
    return kwargs


def resolve_defense(spec: str, policy: CallPolicy | None = None) -> Defense:
    """Build the Defense a spec names (loads and validates the constitution); `policy`: see Defense."""
    from seval.defense.defended import Defense

    return Defense(**parse_defense_spec(spec), policy=policy)
