"""The defense's language check is seval.lang's (one rule for the whole package)."""

from seval.lang import detect_lang

__all__ = ["detect_lang"]
