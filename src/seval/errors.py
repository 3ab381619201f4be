"""User-facing errors: one line that names the problem, printed by the CLI without a traceback."""


class SevalError(Exception):
    """A problem with the user's input or configuration, explained in one line."""
