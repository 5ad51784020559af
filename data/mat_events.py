"""Event recordings stored as MATLAB ``.mat`` files with ``x``, ``y``, ``ts``, ``pol`` arrays.

The form in which Bi et al. (TIP 2020, "Graph-based spatio-temporal feature learning for
neuromorphic vision sensing") released UCF101-DVS and HMDB51-DVS (and, earlier, ASL-DVS):
one file per recording, each holding four ``[N, 1]`` column vectors

* ``x``: pixel column, 0..239, and ``y``: pixel row, 0..179 (a DAVIS240C, 240 x 180);
* ``ts``: timestamps in µs;
* ``pol``: polarity, 1 = ON, 0 = OFF.

The files are read with ``scipy.io.loadmat`` (MAT v5; no code is executed); MAT v7.3
files, which are HDF5 inside, are read with ``h5py``. The rows are stored upside down
relative to the usual image convention, so, as tonic's reader of ASL-DVS (the same
authors, camera and format) does, ``y`` is flipped: ``y = 179 - y``. A recording with
no events loads as an empty event array (the releases contain a few); a file that
cannot be decoded, lacks one of the four arrays or holds values outside the sensor is
a :class:`DataError` that names it. The datasets' samples (:func:`read_davis240_recording`)
centre the 240 x 180 sensor in a 240 x 192 frame (6 blank rows above and below; see
:func:`~spikinghash.data.event_files.padded_frame`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from spikinghash.data.event_files import events_from_columns, integer_column, padded_frame, place_in_frame
from spikinghash.errors import DataError

DAVIS240_SENSOR = (240, 180, 2)  # (W, H, P) of the DAVIS240C
DAVIS240_FRAME, DAVIS240_OFFSET = padded_frame(DAVIS240_SENSOR)  # (240, 192, 2), (0, 6)
MAT_KEYS = ("x", "y", "ts", "pol")
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_MAT73_USERBLOCK = 512  # MAT v7.3 files put the HDF5 superblock after a 512-byte text header


def _read_v5(path: Path) -> tuple[dict[str, np.ndarray], list[str]]:
    """The four arrays of a MAT v5 file (the ones it has) and the names of all its variables."""
    from scipy.io import loadmat, whosmat  # lazy: scipy.io takes a while to import

    arrays = {k: v for k, v in loadmat(str(path), variable_names=MAT_KEYS).items() if k in MAT_KEYS}
    return arrays, [name for name, _, _ in whosmat(str(path))] if len(arrays) < len(MAT_KEYS) else list(arrays)


def _read_v73(path: Path) -> tuple[dict[str, np.ndarray], list[str]]:
    """Like :func:`_read_v5` for a MAT v7.3 (HDF5) file; MATLAB's ``[N, 1]`` is stored as ``[1, N]``."""
    import h5py

    with h5py.File(path, "r") as f:
        arrays = {k: np.asarray(f[k]) for k in MAT_KEYS if k in f and isinstance(f[k], h5py.Dataset)}
        return arrays, list(f.keys())


def _is_hdf5(path: Path) -> bool:
    with open(path, "rb") as f:
        head = f.read(_MAT73_USERBLOCK + len(_HDF5_SIGNATURE))
    return head[:8] == _HDF5_SIGNATURE or head[_MAT73_USERBLOCK:] == _HDF5_SIGNATURE


def read_mat_events(path: Path, sensor_size: tuple[int, int, int] = DAVIS240_SENSOR) -> np.ndarray:
    """Events of one ``.mat`` recording as checked, time-sorted ``EVENT_DTYPE`` ``[n_events]``.

    Args:
        path: the ``.mat`` file.
        sensor_size: ``(W, H, P)``; rows are flipped with ``H``.
    """
    try:
        hdf5 = _is_hdf5(path)
    except OSError as err:
        raise DataError(f"{path}: cannot be read ({err.strerror}); check the file and its permissions") from err
    try:
        arrays, names = _read_v73(path) if hdf5 else _read_v5(path)
    except Exception as err:  # scipy and h5py raise many types (ValueError, TypeError, OSError, zlib.error, ...)
        kind = "MAT v7.3 (HDF5)" if hdf5 else "MATLAB .mat"
        raise DataError(
            f"{path}: not a readable {kind} file ({type(err).__name__}: {err}); the file is truncated "
            "or corrupt, extract it again"
        ) from None
    missing = [k for k in MAT_KEYS if k not in arrays]
    if missing:
        raise DataError(
            f"{path}: no variable `{missing[0]}`; an event recording must hold x, y, ts and pol "
            f"(it has: {', '.join(sorted(names)) or 'none'}); the file is from another dataset"
        )
    x, y, t, p = (integer_column(arrays[k], k, str(path)) for k in MAT_KEYS)
    if not len(x) == len(y) == len(t) == len(p):
        raise DataError(
            f"{path}: x, y, ts and pol have {len(x)}, {len(y)}, {len(t)} and {len(p)} entries, "
            "not one each per event; the file is corrupt"
        )
    height = sensor_size[1]
    return events_from_columns(x, height - 1 - y, t, p, sensor_size, str(path))


def read_davis240_recording(path: Path) -> np.ndarray:
    """A recording's events placed in the ``DAVIS240_FRAME`` (``y`` + 6): the samples of UCF101-DVS and HMDB51-DVS."""
    return place_in_frame(read_mat_events(path), DAVIS240_OFFSET)
