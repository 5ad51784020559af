"""The ``netx`` backend: an integer network written as netx HDF5 and run by lava-dl's own loader on Lava.

``netx.hdf5.Network`` reads the file (``write.write_netx``) and builds Lava's processes
itself: a ``RingBuffer`` source sends the graded integer frames into ``net.inp``
(``input_message_bits`` = the IntNet's input bits), an ``Extractor`` on every layer's
``neuron.s_out`` passes its spikes to this process (as ``lava_net`` does: ``Var.get`` moves one
number per message) and a ``Monitor`` records the last layer's ``v``. It runs on
``Loihi2SimCfg(select_tag="fixed_pt")``; the runtime is always stopped and its OS processes reaped
(``backends.lava.runtime.lava_session``).

Schedule (the Lava backend's "interval" one): all samples back to back, ``T`` steps each, then ``max
lag`` steps of zeros; netx's ``reset_interval = T`` makes every layer a ``LIFReset`` with offset
``reset_offset + 1 + j`` for its j-th block; ``reset_offset = 1`` puts layer j (synaptic depth
``lag = j + 1``) at ``1 + lag``, exactly where ``backends.lava.build`` resets it. So a sequential graph has
no Delay buffers to clear and each window depends only on its own sample.

Latency: each synapse delivers one step late, so layer n holds float step t of sample k at Lava
step ``k·T + t + lag[n]`` (``lag`` = its depth: 1 for the first layer). ``verify.netx.run_netx`` states this
offset and also measures it: the offsets in ``[0, max lag]`` at which netx's raster equals the fast
simulator's window.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from spikinghash.errors import ConfigError
from spikinghash.hw_sim.backends.lava.build import (frames_to_lava, interval_gap, lava_shape, raster_from_lava,
                                                   to_lava)
from spikinghash.hw_sim.backends.lava.runtime import lava_session
from spikinghash.hw_sim.backends.netx.write import lava_dense_effective, sequential_paths, write_netx
from spikinghash.hw_sim.backends.result import BackendResult
from spikinghash.hw_sim.frontend.readout import hash_codes
from spikinghash.hw_sim.target.int_net import IntNet, quantize_input

MAPPING = "netx CUBA -> Lava LIF: du = iDecay - 1, dv = vDecay, vth = vThMant, bias_mant = bias, bias_exp = 6"


def _difference(expected: np.ndarray, got: np.ndarray) -> dict[str, Any] | None:
    expected, got = np.asarray(expected, dtype=np.float64), np.asarray(got, dtype=np.float64)
    if expected.shape != got.shape:
        return {"expected_shape": list(expected.shape), "netx_shape": list(got.shape)}
    if np.array_equal(expected, got):
        return None
    idx = np.argwhere(expected != got)[0]
    return {"index": [int(i) for i in idx], "expected": float(expected[tuple(idx)]),
            "netx": float(got[tuple(idx)]), "count": int(np.count_nonzero(expected != got))}


def loaded_parameters(network: Any, int_net: IntNet) -> dict[str, dict[str, Any]]:
    """Per layer, every parameter of the Lava processes netx built that differs from the IntNet's (Lava layout):
    the LIF's du, dv, vth, effective bias ``bias_mant << bias_exp``; the synapse's effective weights (Dense:
    after Lava's 8-bit clip/truncation and netx's exponent; Conv: the kernel as sent)."""
    net = int_net.net
    out: dict[str, dict[str, Any]] = {}
    for block, path in zip(network.layers, sequential_paths(net)):
        name, q, syn = path.target, int_net.neurons[path.target], net.synapses[path.key]
        qs, lif, shape = int_net.synapses[path.key], block.neuron, net.neurons[path.target].shape
        bias = np.asarray(lif.bias_mant.init, dtype=np.int64) << np.asarray(lif.bias_exp.init, dtype=np.int64)
        got = {"du": lif.du.init, "dv": lif.dv.init, "vth": lif.vth.init,
               "bias": np.broadcast_to(bias, lava_shape(shape))}
        want: dict[str, Any] = {"du": q.du, "dv": q.dv, "vth": q.vth, "bias": to_lava(q.bias(), shape)}
        if syn.netx_type == "dense":
            weights = np.asarray(block.synapse.weights.init)
            exp = int(block.synapse.proc_params.get("weight_exp", 0))
            bits = int(block.synapse.proc_params.get("num_weight_bits", 8))
            got["weights"] = lava_dense_effective(weights, exp, bits)
            want["weights"] = syn.matrix(qs.weight).toarray().astype(np.int64) << qs.weight_exp
        else:
            got["weights"] = np.asarray(block.synapse.weight.init)
            kernel = np.broadcast_to(np.asarray(qs.weight, dtype=np.int64) << qs.weight_exp, syn.geo.weight_shape)
            want["weights"] = kernel[:, :, ::-1, ::-1].transpose(0, 3, 2, 1)  # lava_build's Conv layout
        diffs = {k: d for k in want if (d := _difference(want[k], got[k])) is not None}
        out[name] = diffs
    return out


def _source_data(seq: np.ndarray, first_is_dense: bool) -> np.ndarray:
    """Graded frames ``[S, *input_shape]`` -> RingBuffer data: ``[N, S]`` (C-order flattened) for a dense first
    layer, ``[W, H, C, S]`` for a conv one."""
    if first_is_dense:
        return seq.reshape(seq.shape[0], -1).T
    return frames_to_lava(seq)


def simulate_netx(int_net: IntNet, frames: Any, samples: int | None = None,
                  path: str | Path | None = None) -> BackendResult:
    """The ``netx`` backend: the first ``samples`` of ``frames [T, B, *input_shape]`` through netx's ``Network`` of
    ``path``
    (written from ``int_net`` by :func:`write_netx` into a temporary folder when None)."""
    from lava.lib.dl.netx import hdf5

    start = time.perf_counter()
    net = int_net.net
    paths = sequential_paths(net)
    if interval_gap(net):
        raise ConfigError("netx runs need a graph without Delays")  # sequential_paths refuses them already
    x, clipped = quantize_input(int_net, frames if samples is None else frames[:, :samples])
    x = x.numpy()
    steps, n = x.shape[:2]
    if n < 1:
        raise ConfigError("simulate_netx needs at least one sample")
    tail = max(net.lags.values())
    seq = np.concatenate([x[:, k] for k in range(n)] + [np.zeros((tail, *x.shape[2:]), dtype=np.int64)])
    with contextlib.ExitStack() as stack:
        if path is None:  # kept until the run ends: netx's NetDict holds the file open
            path = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="spikinghash-netx-"))) / "network.net"
            write_netx(int_net, path)
        network = hdf5.Network(net_config=str(path), input_message_bits=int_net.input_bits,
                               input_shape=lava_shape(net.input_shape), reset_interval=steps, reset_offset=1)
        return _run(network, int_net, paths, seq, steps, n, start, str(path), clipped)


def _run(network: Any, int_net: IntNet, paths: list, seq: np.ndarray, steps: int, n: int, start: float,
         file: str, clipped: int) -> BackendResult:
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.io.extractor import Extractor, PyLoihiExtractorModel
    from lava.proc.io.source import RingBuffer
    from lava.proc.monitor.process import Monitor

    net = int_net.net
    if len(network.layers) != len(paths):
        raise ConfigError(f"netx built {len(network.layers)} layers from {file}, the IntNet has {len(paths)}; "
                          "write the file from this IntNet (write_netx)")
    parameters = loaded_parameters(network, int_net)
    source = RingBuffer(data=_source_data(seq, net.synapses[paths[0].key].netx_type == "dense"))
    source.s_out.connect(network.inp)
    sinks = {}
    for block, p in zip(network.layers, paths):
        sinks[p.target] = Extractor(shape=block.neuron.s_out.shape, buffer_size=len(seq))
        block.neuron.s_out.connect(sinks[p.target].in_port)
    monitor = Monitor()
    monitor.probe(network.out_layer.neuron.v, len(seq))
    cfg = Loihi2SimCfg(select_tag="fixed_pt", exception_proc_model_map={Extractor: PyLoihiExtractorModel})
    with lava_session(network):
        network.create_runtime(run_cfg=cfg)
        setup = time.perf_counter() - start
        network.run(condition=RunSteps(num_steps=len(seq)), run_cfg=cfg)
        raw = {name: np.stack([sink.receive() for _ in range(len(seq))]) for name, sink in sinks.items()}
        v = monitor.get_data()[network.out_layer.neuron.name]["v"]
    raw = {name: raster_from_lava(r).astype(np.uint8) for name, r in raw.items()}
    spikes = {name: np.stack([r[k * steps + net.lags[name]:k * steps + net.lags[name] + steps] for k in range(n)],
                             axis=1) for name, r in raw.items()}
    v = np.rint(v).astype(np.int64).reshape(len(seq), -1)
    lag = net.lags[net.output]
    v_hash = np.stack([v[k * steps + lag:k * steps + lag + steps] for k in range(n)], axis=1)
    processes = 2 * len(paths) + 1 + len(sinks)  # synapse + LIF per layer, the source, the extractors
    info = {"raw": raw, "parameters": parameters, "processes": processes, "file": file}
    return BackendResult("netx", spikes, hash_codes(spikes[net.output]), v_hash, {net.output: {"v": v_hash[-1]}},
                         {"input": {"clipped": clipped}}, time.perf_counter() - start, setup, info)
