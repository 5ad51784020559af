"""User-facing errors: the CLI prints their message on one line and exits non-zero.

Raise a :class:`UserError` (or a subclass) for anything the user can fix — a
missing file, an unknown name, an impossible setting — with a message that names
the problem and the fix. Anything else is a bug and keeps its traceback.
"""


class UserError(Exception):
    """A problem with the user's input, settings or files (exit code 2, no traceback)."""


class DataError(UserError):
    """A dataset is unknown, missing, incomplete or corrupt."""


class ConfigError(UserError):
    """A setting (T, sensor size, bits, model name, ...) is impossible."""
