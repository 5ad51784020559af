"""Imports every module that registers models, so the registry sees them all."""
from spikinghash.models import transhash  # noqa: F401
from spikinghash.models import spikinghash  # noqa: F401  (Spikinghash Ti–XL and ablations)
from spikinghash.models import spikingformer  # noqa: F401  (Spikingformer baseline)
from spikinghash.models import neuromorphic  # noqa: F401  (NIR-exportable profiles *_nir)
