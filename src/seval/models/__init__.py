"""Model backends behind one async interface, chosen by a model string such as `local:smollm2`."""

from seval.models.base import ModelBackend, resolve_model

__all__ = ["ModelBackend", "resolve_model"]
