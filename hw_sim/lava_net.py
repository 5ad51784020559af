"""Build an :class:`IntNet` from lava-nc's own processes and run it with ``Loihi2SimCfg(select_tag="fixed_pt")``.

Processes: a ``RingBuffer`` source sends the graded integer frames; each path becomes a
``Conv`` (Conv2d without Lava delay), ``Dense``/``DelayDense`` (Affine, Linear) or
``Sparse``/``DelaySparse`` (Conv2d needing a delay, SumPool2d, Scale); each neuron layer a
``LIFReset``; a ``RingBuffer`` sink per layer records its spikes and a ``Monitor`` the hash
layer's ``v``. Lava lays 3-D data out as (W, H, C): frames, kernels, biases and matrices
are permuted here and the recordings permuted back to (C, H, W).

Latency: neuron layer n sees the float step t at Lava step ``t + lag[n]`` (see ``graph``);
outputs are cut to each layer's window ``[lag, lag + T)`` before they are returned.

State reset between samples, two schedules (``reset``):

- ``"interval"``: all samples back to back in one run, each given ``T + G`` steps
  (G = the longest float Delay, during which the source sends zeros), and every
  ``LIFReset`` zeroes its layer at the step its sample's window opens. A layer's window
  then depends only on its own sample, except through Delay paths from neuron layers,
  which would carry the previous sample's last spikes in — so such graphs need ``"fresh"``.
- ``"fresh"``: one run per sample (rebuilt and recompiled each time).

``reset=None`` picks "interval" whenever it is exact, else "fresh".
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from spikinghash.errors import ConfigError
from spikinghash.hw_sim.graph import CanonicalNet, Path
from spikinghash.hw_sim.int_net import IntNet, quantize_input
from spikinghash.hw_sim.readout import hash_codes

Shape = tuple[int, ...]


@dataclass(frozen=True)
class LavaResult:
    """``spikes``: per neuron layer ``[T, N, *shape]`` uint8 (windows, latency removed); ``codes`` ``[N, L]``
    (Eq. 18); ``v_hash`` ``[T, N, L]`` int64 (Monitor of the hash layer's v); ``seconds``: wall time of
    building, compiling, running and reading out; ``reset``: the schedule used."""

    spikes: dict[str, np.ndarray]
    codes: np.ndarray
    v_hash: np.ndarray
    seconds: float
    reset: str


def lava_shape(shape: Shape) -> Shape:
    """(C, H, W) -> Lava's (W, H, C); 1-D shapes unchanged."""
    return tuple(reversed(shape)) if len(shape) == 3 else shape


def to_lava(a: np.ndarray, shape: Shape) -> np.ndarray:
    """Per-neuron array of a layer of ``shape`` (C, H, W) in Lava's (W, H, C) layout."""
    return a.transpose(2, 1, 0) if len(shape) == 3 else a


def lava_order(shape: Shape) -> np.ndarray:
    """For each position of Lava's flattened (W, H, C) order, the index in C-order (C, H, W) flattening."""
    return np.arange(int(np.prod(shape))).reshape(shape).transpose(2, 1, 0).ravel() if len(shape) == 3 \
        else np.arange(shape[0])


def _conv_process(net: CanonicalNet, path: Path, int_net: IntNet, msg_bits: int) -> Any:
    from lava.proc.conv.process import Conv

    syn, q = net.synapses[path.key], int_net.synapses[path.key]
    geo = syn.geometry()
    # Lava's Conv is a true convolution over (W, H): flip the kernel and reorder to (out, W, H, in).
    kernel = (q.weight.astype(np.int64) << q.weight_exp)[:, :, ::-1, ::-1].transpose(0, 3, 2, 1)
    proc = Conv(weight=np.ascontiguousarray(kernel), input_shape=lava_shape(syn.in_shape),
                padding=geo.padding[::-1], stride=geo.stride[::-1], dilation=geo.dilation[::-1],
                groups=geo.groups, num_message_bits=msg_bits)
    return proc, proc.s_in, proc.a_out


def _matrix_process(net: CanonicalNet, path: Path, int_net: IntNet, msg_bits: int) -> Any:
    from lava.proc.dense.process import DelayDense, Dense
    from lava.proc.sparse.process import DelaySparse, Sparse

    syn, q = net.synapses[path.key], int_net.synapses[path.key]
    source_shape = net.shapes[path.source]
    m = syn.matrix(q.weight).tocsr()[lava_order(syn.out_shape)][:, lava_order(source_shape)]
    m.eliminate_zeros()
    delay = net.lava_delay(path)
    common = dict(weight_exp=q.weight_exp, num_weight_bits=8, num_message_bits=msg_bits)
    if syn.lava_matrix == "dense":
        w = m.toarray().astype(np.int64)
        proc = DelayDense(weights=w, delays=np.full(w.shape, delay, dtype=int), max_delay=delay, **common) \
            if delay else Dense(weights=w, **common)
    elif delay:
        delays = m.copy()
        delays.data = np.full(delays.nnz, delay, dtype=int)
        proc = DelaySparse(weights=m, delays=delays, max_delay=delay, **common)
    else:
        proc = Sparse(weights=m, **common)
    return proc, proc.s_in, proc.a_out


PROCESS_BUILDERS: dict[str, Callable[[CanonicalNet, Path, IntNet, int], Any]] = {
    "conv": _conv_process, "matrix": _matrix_process}


def _adapt(port: Any, to_shape: Shape) -> Any:
    """Reshape a Lava port (virtual port) when the other end has another shape."""
    return port if tuple(port.shape) == tuple(to_shape) else port.reshape(to_shape)


def _build_and_run(int_net: IntNet, data: np.ndarray, steps: int, interval: int) -> dict[str, np.ndarray]:
    """One Lava run of ``steps`` steps; returns raw rasters ``[steps, *shape (C,H,W)]`` per layer and ``"v_hash"``."""
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer as Source
    from lava.proc.lif.process import LIFReset
    from lava.proc.monitor.process import Monitor

    net = int_net.net
    out_ports = {net.input_name: Source(data=data).s_out}
    neurons, sinks = {}, {}
    for name, layer in net.neurons.items():
        q, shape = int_net.neurons[name], layer.shape
        lif = LIFReset(shape=lava_shape(shape), du=q.du, dv=q.dv, vth=q.vth,
                       bias_mant=to_lava(q.bias_mant, shape), bias_exp=to_lava(q.bias_exp, shape),
                       reset_interval=interval, reset_offset=(1 + net.lags[name]) % interval)
        for path in net.paths[name]:
            msg_bits = int_net.input_bits if path.source == net.input_name else 0
            _, s_in, a_out = PROCESS_BUILDERS[int_net.synapses[path.key].kind](net, path, int_net, msg_bits)
            _adapt(out_ports[path.source], s_in.shape).connect(s_in)
            _adapt(a_out, lif.a_in.shape).connect(lif.a_in)
        sinks[name] = Sink(shape=lava_shape(shape), buffer=steps)
        lif.s_out.connect(sinks[name].a_in)
        out_ports[name], neurons[name] = lif.s_out, lif
    monitor = Monitor()
    monitor.probe(neurons[net.output].v, steps)
    runner = neurons[net.output]
    runner.run(condition=RunSteps(num_steps=steps), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
    try:
        raw = {}
        for name, layer in net.neurons.items():
            rec = sinks[name].data.get()  # [*lava_shape, steps]
            raw[name] = (rec.transpose(3, 2, 1, 0) if len(layer.shape) == 3 else rec.T).astype(np.uint8)
        v = monitor.get_data()[neurons[net.output].name]["v"]  # [steps, *lava_shape]
        raw["v_hash"] = np.rint(v).astype(np.int64).reshape(steps, -1)
    finally:
        runner.stop()
    return raw


def _frames_to_lava(x: np.ndarray) -> np.ndarray:
    """Graded frames ``[S, *shape (C,H,W)]`` -> RingBuffer data ``[*lava_shape, S]``."""
    return x.transpose(3, 2, 1, 0) if x.ndim == 4 else x.T


def choose_reset(net: CanonicalNet, reset: str | None) -> str:
    """The reset schedule (module docstring); ConfigError when "interval" would not be exact."""
    exact = not net.delayed_sources()
    if reset is None:
        return "interval" if exact else "fresh"
    if reset not in ("interval", "fresh"):
        raise ConfigError(f"reset={reset!r}: use 'interval' (LIFReset, samples back to back) or 'fresh'")
    if reset == "interval" and not exact:
        raise ConfigError(f"reset='interval' is not exact here: Delay paths from neuron layers "
                          f"{sorted(net.delayed_sources())} carry spikes across samples; use reset='fresh'")
    return reset


def run_lava(int_net: IntNet, frames: Any, samples: int | None = None, reset: str | None = None) -> LavaResult:
    """Run the first ``samples`` of ``frames [T, B, *input_shape]`` on Lava (fixed_pt) and cut out each window."""
    start = time.perf_counter()
    net = int_net.net
    x = quantize_input(int_net, frames)[0].numpy()
    x = x[:, :samples] if samples is not None else x
    steps, n = x.shape[:2]
    reset = choose_reset(net, reset)
    tail = max(net.lags.values())
    gap = max((p.delay for p in net.all_paths()), default=0)
    period = steps + gap
    zeros = np.zeros((tail + gap, *x.shape[2:]), dtype=np.int64)
    if reset == "interval":
        seq = np.concatenate([np.concatenate([x[:, k], zeros[:gap]]) for k in range(n)] + [zeros[:tail]])
        runs = [(_build_and_run(int_net, _frames_to_lava(seq), len(seq), period), [k * period for k in range(n)])]
    else:
        runs = [(_build_and_run(int_net, _frames_to_lava(np.concatenate([x[:, k], zeros[:tail]])), steps + tail,
                                steps + tail + 1), [0]) for k in range(n)]
    spikes: dict[str, list[np.ndarray]] = {name: [] for name in net.neurons}
    v_hash = []
    for raw, offsets in runs:
        for off in offsets:
            for name in net.neurons:
                lag = off + net.lags[name]
                spikes[name].append(raw[name][lag:lag + steps])
            v_hash.append(raw["v_hash"][off + net.lags[net.output]:off + net.lags[net.output] + steps])
    out = {name: np.stack(s, axis=1) for name, s in spikes.items()}
    return LavaResult(out, hash_codes(out[net.output]), np.stack(v_hash, axis=1), time.perf_counter() - start, reset)
