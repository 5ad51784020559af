"""Static images as retrieval splits: any ``[N, C, H, W]`` array in ``[0, 1]`` plus labels.

Samples are ``[C, H, W]`` float32 images in ``[0, 1]`` (``kind="images"``); turning an
image into ``T`` time steps (repeating it, as the paper does for CIFAR) is the frames
module's job, not this one's.

Registered datasets:

* ``digits``: scikit-learn's ``load_digits()`` (1,797 real handwritten digits, 8 x 8,
  grey levels 0..16, ships with scikit-learn, no download), scaled to ``[0, 1]`` by
  dividing by 16 and enlarged to 32 x 32 by nearest-neighbour upsampling (every pixel
  becomes a 4 x 4 block: no interpolation blur, values stay on the 17 source levels,
  and 32 x 32 is the CIFAR input size the models are built for). ``root`` is ignored.
* ``image-npz``: your own ``.npz`` file (``root``; a folder means ``<folder>/images.npz``;
  ``root=None`` reads ``$SPIKINGHASH_DATA_ROOT/image-npz``) holding ``images``
  ``[N, C, H, W]`` or ``[N, H, W]``, float in ``[0, 1]`` or uint8 (divided by 255), and
  ``labels`` ``[N]`` non-negative integers; optional ``classes`` ``[K]`` strings. Read
  with ``allow_pickle=False``. The registered info cannot know the image size, so it
  says ``(0, 0, 0)``; the loaded split's ``info`` carries the file's real size and classes.

Retrieval protocol for both (no official split): seeded, stratified: ``query_fraction``
(default 10 %) of every class is the query set, the rest the database, train = database.
"""

from __future__ import annotations

import dataclasses
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from spikinghash.data.event_files import dataset_root
from spikinghash.data.registry import DatasetInfo, register_dataset
from spikinghash.data.retrieval_split import protocol_indices
from spikinghash.errors import DataError

DIGITS_INFO = DatasetInfo(
    name="digits",
    kind="images",
    sensor_size=(32, 32, 1),
    classes=tuple(str(d) for d in range(10)),
    description="scikit-learn's 1,797 handwritten 8x8 digits, upsampled to 32x32 (ships offline)",
)
IMAGE_NPZ_INFO = DatasetInfo(
    name="image-npz",
    kind="images",
    sensor_size=None,
    classes=(),
    description="your images: a .npz with images [N, C, H, W] in [0, 1] and labels [N]; --root FILE",
    needs_root=True,
)

_DIGITS_LEVELS = 16.0  # load_digits() grey levels run 0..16
_DIGITS_UPSAMPLE = 4  # 8 x 8 -> 32 x 32
_UINT8_MAX = 255.0
_MAX_CHANNELS = 4  # RGBA; a longer axis 1 next to a short last axis means channels-last


@dataclass(frozen=True, eq=False)
class ImageSplit:
    """One split of a static image dataset.

    Attributes:
        info: the dataset's description (``sensor_size`` = ``(W, H, C)``).
        split: ``"query"``, ``"database"`` or ``"train"``.
        images: ``[N, C, H, W]`` float32 in ``[0, 1]`` (samples are views into it), or uint8
            0..255 (kept 4x smaller; each sample is scaled by 1/255 on indexing).
        labels: ``[N]`` int64.
        indices: ``[N]`` int64 position of each sample in the source array.
    """

    info: DatasetInfo
    split: str
    images: np.ndarray
    labels: np.ndarray
    indices: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[np.ndarray, int]:
        """``(image [C, H, W] float32 in [0, 1], label)``; IndexError past the end (ends iteration)."""
        image = self.images[index]
        if image.dtype == np.uint8:
            image = image.astype(np.float32) / _UINT8_MAX
        return image, int(self.labels[index])


def check_images(images: np.ndarray, labels: np.ndarray, source: str) -> tuple[np.ndarray, np.ndarray]:
    """Checked copies: images ``[N, C, H, W]`` float32 in ``[0, 1]``, labels ``[N]`` int64.

    Accepts ``[N, H, W]`` (one channel) and uint8 (divided by 255). ``source`` names the
    array or file in the :class:`DataError` messages.
    """
    images = np.asarray(images)
    labels = np.asarray(labels)
    if images.ndim == 3:
        images = images[:, None]
    if images.ndim != 4 or 0 in images.shape:
        raise DataError(
            f"{source}: `images` must be [N, C, H, W] or [N, H, W] with no empty axis, got shape {images.shape}"
        )
    if images.shape[1] > _MAX_CHANNELS >= images.shape[-1]:
        raise DataError(
            f"{source}: `images` of shape {images.shape} looks channels-last [N, H, W, C]; "
            "store np.transpose(images, (0, 3, 1, 2)) instead"
        )
    if images.dtype == np.uint8:
        images = images.astype(np.float32) / _UINT8_MAX
    elif np.issubdtype(images.dtype, np.floating):
        if not np.all(np.isfinite(images)) or images.min() < 0.0 or images.max() > 1.0:
            raise DataError(
                f"{source}: float `images` must be finite and lie in [0, 1]; divide by the maximum (e.g. 255) first"
            )
        images = images.astype(np.float32)
    else:
        raise DataError(f"{source}: `images` has dtype {images.dtype}; store float values in [0, 1] or uint8 0..255")
    if labels.ndim != 1 or len(labels) != len(images):
        raise DataError(
            f"{source}: `labels` must be [N] with N = {len(images)} (one per image), got shape {labels.shape}"
        )
    if not np.issubdtype(labels.dtype, np.integer) or (len(labels) and labels.min() < 0):
        raise DataError(f"{source}: `labels` must be non-negative integers (class indices), got dtype {labels.dtype}")
    return images, labels.astype(np.int64)


def image_split(
    images: np.ndarray, labels: np.ndarray, split: str, info: DatasetInfo, *, query_fraction: float = 0.1, seed: int = 0
) -> ImageSplit:
    """Split ``split`` of an image array under the seeded stratified protocol.

    Args:
        images: ``[N, C, H, W]`` or ``[N, H, W]``, float in ``[0, 1]`` or uint8.
        labels: ``[N]`` class indices.
        split: ``"query"``, ``"database"`` or ``"train"`` (= database).
        info: description; ``kind`` must be ``"images"``.
        query_fraction: share of every class that becomes queries.
        seed: seed of the split (the same seed gives disjoint query and database).
    """
    images, labels = check_images(images, labels, info.name)
    keep = protocol_indices(labels, split, query_fraction, seed)
    return ImageSplit(info, split, images[keep], labels[keep], keep)


def digits_images() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits as ``[1797, 1, 32, 32]`` float32 in ``[0, 1]`` and ``[1797]`` labels."""
    from sklearn.datasets import load_digits  # lazy: scikit-learn is slow to import

    bunch = load_digits()
    small = bunch.images / _DIGITS_LEVELS  # [N, 8, 8]
    big = np.repeat(np.repeat(small, _DIGITS_UPSAMPLE, axis=1), _DIGITS_UPSAMPLE, axis=2)
    return big[:, None].astype(np.float32), bunch.target.astype(np.int64)


def load_digits_split(
    split: str, root: Path | None = None, *, query_fraction: float = 0.1, seed: int = 0
) -> ImageSplit:
    """One retrieval split of ``digits`` (``root`` is ignored: the data ships with scikit-learn)."""
    images, labels = digits_images()
    return image_split(images, labels, split, DIGITS_INFO, query_fraction=query_fraction, seed=seed)


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """The arrays of a user's ``.npz`` (no pickle); :class:`DataError` if unreadable."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {key: npz[key] for key in npz.files}
    except ValueError as err:  # also what an object (pickled) array raises with allow_pickle=False
        raise DataError(f"{path}: cannot read an array ({err}); store plain numeric arrays with np.savez") from err
    except (OSError, EOFError, zipfile.BadZipFile) as err:
        raise DataError(
            f"{path}: not a readable .npz file ({err}); write it with np.savez(path, images=..., labels=...)"
        ) from err


def _npz_classes(arrays: dict[str, np.ndarray], labels: np.ndarray, path: Path) -> tuple[str, ...]:
    """Class names: the optional ``classes`` array, else ``"0"``, ``"1"``, ..."""
    n_classes = int(labels.max()) + 1
    if "classes" not in arrays:
        return tuple(str(c) for c in range(n_classes))
    names = arrays["classes"]
    if names.ndim != 1 or names.dtype.kind not in "US" or len(names) < n_classes:
        raise DataError(
            f"{path}: `classes` must be [K] strings with K >= {n_classes} (largest label + 1), "
            f"got shape {names.shape} of {names.dtype}; save np.array(['cat', 'dog', ...]) or leave it out"
        )
    return tuple(str(n) for n in names)


def load_image_npz(split: str, root: Path | None = None, *, query_fraction: float = 0.1, seed: int = 0) -> ImageSplit:
    """One retrieval split of a user's ``.npz`` of images (see the module docstring)."""
    path = dataset_root(IMAGE_NPZ_INFO.name, root, "a .npz file with `images` [N, C, H, W] and `labels` [N]")
    if path.is_dir():
        path = path / "images.npz"
    if not path.is_file():
        raise DataError(
            f"image-npz: {path} not found; pass --root path/to/file.npz, a file saved with "
            "np.savez(path, images=[N, C, H, W] in [0, 1], labels=[N] ints)"
        )
    arrays = read_npz(path)
    for key in ("images", "labels"):
        if key not in arrays:
            raise DataError(
                f"{path}: no array `{key}` (it has: {', '.join(sorted(arrays)) or 'none'}); "
                "save it with np.savez(path, images=[N, C, H, W] in [0, 1], labels=[N] ints)"
            )
    images, labels = check_images(arrays["images"], arrays["labels"], str(path))
    _, channels, height, width = images.shape
    classes = _npz_classes(arrays, labels, path)
    info = dataclasses.replace(IMAGE_NPZ_INFO, sensor_size=(width, height, channels), classes=classes)
    return image_split(images, labels, split, info, query_fraction=query_fraction, seed=seed)


register_dataset(DIGITS_INFO, load_digits_split)
register_dataset(IMAGE_NPZ_INFO, load_image_npz)
