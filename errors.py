"""User-facing errors and notes: the CLI prints each message on one line (errors exit 2).

Raise a :class:`UserError` (or a subclass) for anything the user can fix — a
missing file, an unknown name, an impossible setting — with a message that names
the problem and the fix. Anything else is a bug (the CLI says so in one line; ``--debug`` shows its traceback).

:func:`note` tells the user about something repaired on their behalf (a corrupt file
exported again): a :class:`Note` warning, which the CLI prints as ``note: ...``.
"""

import warnings


class UserError(Exception):
    """A problem with the user's input, settings or files (exit code 2, no traceback)."""


class DataError(UserError):
    """A dataset is unknown, missing, incomplete or corrupt."""


class ConfigError(UserError):
    """A setting (T, sensor size, bits, model name, ...) is impossible."""


class Note(UserWarning):
    """Something done on the user's behalf that they should know about (the CLI prints ``note: ...``)."""


def note(message: str) -> None:
    """Emit ``message`` (one line) as a :class:`Note`."""
    warnings.warn(" ".join(message.split()), Note, stacklevel=2)
