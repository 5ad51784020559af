"""Spiking hashing models (Spikinghash Ti–XL, ablations, baselines) and their parts."""

from spikinghash.models.outputs import HashOutput
from spikinghash.models.factory import UnknownModelError, create_model, list_models, register_model

__all__ = ["HashOutput", "UnknownModelError", "create_model", "list_models", "register_model"]
