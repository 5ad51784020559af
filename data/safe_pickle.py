"""Reading the python-pickle files of the CIFAR archives without executing pickled code.

A pickle can name any importable callable and have it called while loading
(``os.system`` included), so :class:`RestrictedUnpickler` resolves exactly the three
globals that a pickled numpy array needs (``numpy.core.multiarray._reconstruct``,
``numpy.ndarray``, ``numpy.dtype``) and refuses every other one. Lists, dicts, strings
and numbers need no globals. Those three only build arrays and dtypes from the data
in the file, so loading an untrusted file can run no code of its choosing.

The CIFAR files were written by Python 2's cPickle, so their strings are Python 2
``str``: they are decoded as latin-1, which is what numpy needs to rebuild the arrays
(its documented way to read Python 2 pickles).
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from spikinghash.errors import DataError

# The function numpy's own pickles call to rebuild an array, taken from numpy itself
# (its module moved from numpy.core to numpy._core in numpy 2; pickles name either).
_RECONSTRUCT = np.ndarray.__reduce__(np.zeros(1))[0]
_ALLOWED: dict[tuple[str, str], Any] = {
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class RefusedGlobal(pickle.UnpicklingError):
    """The pickle names a global outside the allowed ones."""


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves only the globals numpy arrays need; any other is an error."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise RefusedGlobal(
                f"refused to load the global {module}.{name}: only numpy arrays, lists, dicts, strings "
                "and numbers may appear in a dataset file"
            ) from None


def load_restricted(path: Path) -> Any:
    """The object pickled in ``path``, loaded by :class:`RestrictedUnpickler`.

    Raises :class:`DataError` naming the file when it is missing, truncated, not a
    pickle, or names a global outside the allowed three.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise DataError(f"{path}: cannot be read ({err.strerror}); check the file and its permissions") from None
    try:
        return RestrictedUnpickler(io.BytesIO(data), encoding="latin1").load()
    except RefusedGlobal as err:
        raise DataError(f"{path}: {err}; the file is corrupt or not from the official archive") from None
    except Exception as err:  # a damaged pickle raises UnpicklingError, EOFError, ValueError, KeyError, ...
        raise DataError(
            f"{path}: not a readable pickle ({type(err).__name__}: {err}); the file is truncated or corrupt, "
            "extract the archive again"
        ) from None
