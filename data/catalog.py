"""Imports every module that registers datasets, so the registry sees them all."""

from spikinghash.data import dvs_digits  # noqa: F401
from spikinghash.data import nmnist  # noqa: F401
from spikinghash.data import dvs_gesture  # noqa: F401
from spikinghash.data import cifar10_dvs  # noqa: F401
from spikinghash.data import image_arrays  # noqa: F401
from spikinghash.data import ucf101_dvs  # noqa: F401
from spikinghash.data import hmdb51_dvs  # noqa: F401
from spikinghash.data import hardvs  # noqa: F401
from spikinghash.data import cifar  # noqa: F401
from spikinghash.data import tiny_imagenet  # noqa: F401
