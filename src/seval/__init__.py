"""seval: automated, comprehensive safety evaluation of large language models (S-Eval)."""

__version__ = "0.1.0"
