"""Integer (Loihi-like) simulation of exported spiking networks: real Lava and a fast twin.

Importing this package makes lava-nc 0.10 usable on Python 3.11 (see ``lava_compat``).

Input: a NIR graph in the canonical form of ``docs/deploy_contract.md`` (never a torch
module) and frames ``[T, B, C, H, W]``. Pipeline, one module each:

- ``graph``: parse and check the canonical form -> neuron layers, paths, Lava lags/delays;
- ``synapses`` / ``neurons``: each layer type described once, with its float behaviour and
  its Lava bit-accurate behaviour side by side;
- ``float_sim``: the reference float simulation of the graph (the contract's semantics);
- ``quantize``: calibrate on frames, pick each layer's scale, build the ``int_net.IntNet``;
- ``lava_net``: run an IntNet on lava-nc processes (``Loihi2SimCfg(select_tag="fixed_pt")``);
- ``fast_sim``: the same IntNet batched, bit-exact with the Lava run;
- ``compare``: float vs integer agreement, hash bits; fast vs Lava bit-exactness;
- ``float_vs_integer``: both simulations over whole splits, tallied; ``lava_vs_fast``: Lava against the
  fast simulator on a few samples, timed; ``qat_grid``: the fixed grid of quantization-aware fine-tuning.
"""

from spikinghash.hw_sim import lava_compat as _lava_compat

_lava_compat.install()
