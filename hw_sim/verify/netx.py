"""netx against the fast simulator and our Lava build, layer by layer (``spikinghash simulate --backend netx``).

netx's run (``backends.netx.network.simulate_netx``) is compared spike for spike with the fast simulator and,
optionally, our own Lava build; where a layer differs, the first differing (step, sample, neuron) is located
and its cause named (parameters netx built differently, or an input that already differed). The offsets at
which netx's raster equals the fast simulator's window are measured, not assumed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from spikinghash.hw_sim.backends import run
from spikinghash.hw_sim.backends.netx.network import MAPPING
from spikinghash.hw_sim.backends.netx.write import sequential_paths
from spikinghash.hw_sim.target.int_net import IntNet
from spikinghash.hw_sim.verify.compare import bit_exactness


def _first_difference(a: np.ndarray, b: np.ndarray) -> dict[str, Any] | None:
    """First (step, sample, neuron) where two rasters ``[T, N, *shape]`` differ (argwhere's C order: step-major)."""
    where = np.argwhere(a != b)
    if not where.size:
        return None
    t, k, *neuron = (int(i) for i in where[0])
    return {"step": t, "sample": k, "neuron": neuron, "netx": int(a[(t, k, *neuron)]),
            "reference": int(b[(t, k, *neuron)]), "count": int(len(where))}


def _offsets(raw: np.ndarray, ref: np.ndarray, steps: int, tail: int) -> list[int]:
    """Offsets o in [0, tail] at which the run's raster cut at ``k·T + o`` equals ``ref [T, N, *shape]``."""
    n = ref.shape[1]
    return [o for o in range(tail + 1)
            if np.array_equal(np.stack([raw[k * steps + o:k * steps + o + steps] for k in range(n)], axis=1), ref)]


def _cause(name: str, parameters: dict[str, Any], first: dict[str, Any] | None,
           upstream: tuple[str, dict[str, Any]] | None) -> str | None:
    if first is None:
        return None
    if parameters:
        return f"netx built other parameters: {', '.join(sorted(parameters))}"
    if upstream is not None and upstream[1]["step"] <= first["step"]:
        return f"its input differs: layer {upstream[0]!r} first differs at step {upstream[1]['step']}"
    return "same parameters and input, different arithmetic (not seen so far)"


def run_netx(int_net: IntNet, frames: Any, samples: int, path: str | Path | None = None,
             with_lava: bool = True) -> dict[str, Any]:
    """Run ``samples`` samples of ``frames [T, B, *input_shape]`` on the backends netx, fast and (``with_lava``)
    lava (``backends.run``); the ``netx`` section of
    ``hw_sim.json``, plain JSON values:

    ``layers``: per neuron layer, its netx block type, ``offset_steps`` (= lag: Lava step ``k·T + t + lag``
    holds float step t of sample k), the ``measured_offsets`` at which netx equals the fast simulator,
    ``bit_exact_fast`` / ``bit_exact_lava``, ``spikes`` (netx's count), ``parameters`` (what netx built
    differently: empty) and, where netx differs from the fast simulator, ``first_difference``
    (step, sample, neuron) and its ``cause``; ``v_hash`` / ``codes`` bit-exactness; seconds per sample."""
    nx = run("netx", int_net, frames, samples=samples, path=path)
    n, steps = nx.samples, nx.v_hash.shape[0]
    x = np.asarray(frames)[:, :n]
    fast = run("fast", int_net, x)
    lava = run("lava", int_net, x) if with_lava else None
    diff_fast = bit_exactness(fast, nx)
    diff_lava = bit_exactness(lava, nx) if lava is not None else None
    net, tail = int_net.net, max(int_net.net.lags.values())
    layers: dict[str, Any] = {}
    upstream: tuple[str, dict[str, Any]] | None = None  # the previous layer, where it differs
    for p in sequential_paths(net):
        name = p.target
        first = _first_difference(nx.spikes[name], fast.spikes[name])
        kind = net.synapses[p.key].netx_type
        layers[name] = {
            "netx_type": kind, "offset_steps": net.lags[name],
            "measured_offsets": _offsets(nx.info["raw"][name], fast.spikes[name], steps, tail),
            "bit_exact_fast": diff_fast[name] == 0,
            "bit_exact_lava": None if diff_lava is None else diff_lava[name] == 0,
            "spikes": int(nx.spikes[name].sum()), "parameters": nx.info["parameters"][name],
            "first_difference": first, "cause": _cause(name, nx.info["parameters"][name], first, upstream)}
        upstream = None if first is None else (name, first)  # the next layer's input
    exact = all(v == 0 for v in diff_fast.values()) and (diff_lava is None or all(v == 0 for v in diff_lava.values()))
    return {"samples": n, "T": steps, "mapping": MAPPING, "layers": layers, "bit_exact": exact,
            "v_hash_bit_exact_fast": diff_fast["v_hash"] == 0, "codes_bit_exact_fast": diff_fast["codes"] == 0,
            "v_hash_bit_exact_lava": None if diff_lava is None else diff_lava["v_hash"] == 0,
            "seconds_per_sample": nx.seconds / n, "setup_seconds": nx.setup_seconds, "processes": nx.info["processes"],
            "lava_seconds_per_sample": None if lava is None else lava.seconds / n,
            "latency": "each synapse adds one step: layer n holds float step t of sample k at Lava step "
                       "k·T + t + lag[n] (lag = its depth, 1 for the first layer), in netx as in our Lava build"}
