"""Constitutional defense: differentiated, non-intrusive safety rules applied at inference time.

    from seval.defense import defend
    model = defend("openai-compatible:http://127.0.0.1:8000/v1#m", "constitution:default:medical_information")
    completion = await model.generate(messages, params)   # completion.defense says what was applied

A constitution (YAML, see constitutions/README.md) holds general principles, clauses per risk dimension and
category, and scenario profiles; a router picks the clauses that match each prompt; modes (system, wrapper,
output-check) put them in front of the model and check its answer. Spec syntax: see `seval.defense.spec`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from seval.defense.defended import DefendedModel, Defense
    from seval.models.base import ModelBackend
    from seval.models.policy import CallPolicy

__all__ = ["DefendedModel", "Defense", "defend", "load_constitution", "resolve_defense"]


def resolve_defense(spec: str, policy: CallPolicy | None = None) -> Defense:
    """`constitution:NAME[:SCENARIO][+MODE...][?key=value&...]` -> Defense; `policy`: the run's CallPolicy,
    through which the output check's critic calls its models (role `defense`)."""
    from seval.defense.spec import resolve_defense as _resolve

    return _resolve(spec, policy=policy)


def defend(model: str | ModelBackend, defense: str | Defense = "constitution:default",
           **model_options: Any) -> DefendedModel:
    """Wrap any model (a model string or a backend) in a defense (a spec string or a Defense)."""
    from seval.defense.defended import Defense
    from seval.models.base import ModelBackend, resolve_model

    backend = model if isinstance(model, ModelBackend) else resolve_model(model, **model_options)
    d = defense if isinstance(defense, Defense) else resolve_defense(defense)
    return d.wrap(backend)


def __getattr__(name: str) -> Any:
    if name in ("Defense", "DefendedModel"):
        from seval.defense import defended

        return getattr(defended, name)
    if name == "load_constitution":
        from seval.defense.constitution import load_constitution

        return load_constitution
    raise AttributeError(name)
