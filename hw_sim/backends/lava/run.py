"""Build an :class:`IntNet` from lava-nc's own processes and run it with ``Loihi2SimCfg(select_tag="fixed_pt")``.

Processes (``lava_build``): a ``RingBuffer`` source sends the graded integer frames; each
path becomes a ``Sparse``/``Dense`` (or ``Conv``, ``DelaySparse``/``DelayDense``, relay
``LIF``: see ``lava_build.plan_path``); each neuron layer a ``LIFReset``; an ``Extractor``
per recorded layer passes its spikes to this process (whole arrays per step: reading a
``RingBuffer`` sink with ``Var.get`` moves one number per message, hours on a large model)
and a ``Monitor`` records the hash layer's ``v``. Lava lays 3-D data out as (W, H, C):
frames are permuted here and the recordings permuted back to (C, H, W).
The network is built and compiled once per call, whatever the number of samples, and its
runtime is always stopped, its OS processes reaped (``lava_runtime``).

Latency: neuron layer n sees the float step t at Lava step ``t + lag[n]`` (see ``graph``);
outputs are cut to each layer's window ``[lag, lag + T)`` before they are returned.

State reset between samples, two schedules (``reset``), the same bits for every graph:

- ``"interval"``: all samples back to back in one run, each given ``T + G`` steps
  (G = ``lava_build.interval_gap``: at least the longest float Delay, during which the source
  sends zeros: the input's delayed paths deliver them at the next window's first steps), and
  every ``LIFReset`` zeroes its layer at the step its sample's window opens. A layer's window
  then depends only on its own sample: what a delayed path from a neuron layer still holds when its source's window
  opens (the previous sample's last spikes, the pre-window ones) is zeroed there by a Lava
  ``Reset`` (``lava_build.build_graph``), as a float Delay sees zeros before step 0.
- ``"fresh"``: one ``run`` of ``T + max lag`` steps per sample on the same compiled network
  (the same ``LIFReset``/``Reset`` timing, every ``T + max lag`` steps).

``reset=None`` picks "interval" (one run, the fastest).
"""

from __future__ import annotations

import time
from typing import Any, Sequence

import numpy as np

from spikinghash.errors import ConfigError
from spikinghash.hw_sim.backends.lava.build import (LavaGraph, build_graph, frames_to_lava, interval_gap,
                                                   raster_from_lava)
from spikinghash.hw_sim.backends.lava.runtime import lava_session
from spikinghash.hw_sim.backends.result import BackendResult
from spikinghash.hw_sim.frontend.graph import CanonicalNet
from spikinghash.hw_sim.frontend.readout import hash_codes
from spikinghash.hw_sim.target.int_net import IntNet, quantize_input

Shape = tuple[int, ...]


def _read(g: LavaGraph, steps: int) -> dict[str, np.ndarray]:
    """The last ``steps`` steps each ``Extractor`` passed on, as ``[steps, *shape (C,H,W)]`` uint8 per layer
    (whole arrays through a channel: Lava's ``Var.get`` moves one number per message)."""
    return {name: raster_from_lava(np.stack([sink.receive() for _ in range(steps)])).astype(np.uint8)
            for name, sink in g.sinks.items()}


def _run_schedule(int_net: IntNet, data: np.ndarray, period: int, runs: int, interval: int,
                  conv: str, relay: str, record: set[str] | None) -> tuple[list[dict[str, np.ndarray]], np.ndarray, LavaGraph, float]:
    """Build once, compile once, then ``runs`` runs of ``period`` steps each (``LIFReset`` and the delayed
    buffers' ``Reset`` every ``interval`` steps: ``lava_build.build_graph``). Returns the rasters of each
    run, the hash layer's v ``[runs·period, L]``, the graph and the build+compile+start seconds."""
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.io.extractor import Extractor, PyLoihiExtractorModel
    from lava.proc.monitor.process import Monitor

    start = time.perf_counter()
    net = int_net.net
    g = build_graph(int_net, data, period, interval, conv, relay, record)
    monitor = Monitor()
    monitor.probe(g.neurons[net.output].v, runs * period)
    runner = g.neurons[net.output]
    # the Extractor's only Loihi-protocol model carries no tag: name it (it just forwards its input)
    cfg = Loihi2SimCfg(select_tag="fixed_pt", exception_proc_model_map={Extractor: PyLoihiExtractorModel})
    rasters = []
    with lava_session(runner):
        runner.create_runtime(run_cfg=cfg)
        setup = time.perf_counter() - start
        for _ in range(runs):
            runner.run(condition=RunSteps(num_steps=period), run_cfg=cfg)
            rasters.append(_read(g, period))
        v = monitor.get_data()[runner.name]["v"]  # [runs·period, *lava_shape]
    return rasters, np.rint(v).astype(np.int64).reshape(runs * period, -1), g, setup


def choose_reset(net: CanonicalNet, reset: str | None) -> str:
    """The reset schedule (module docstring): both are exact for every graph; None -> "interval"."""
    if reset is None:
        return "interval"
    if reset not in ("interval", "fresh"):
        raise ConfigError(f"reset={reset!r}: use 'interval' (LIFReset, samples back to back) or 'fresh' "
                          f"(one run per sample)")
    return reset


def run_lava(int_net: IntNet, frames: Any, samples: int | None = None, reset: str | None = None, *,
             conv: str = "auto", relay: str = "auto", layers: Sequence[str] | None = None) -> BackendResult:
    """The ``lava`` backend: the first ``samples`` of ``frames [T, B, *input_shape]`` on Lava (fixed_pt), each
    window cut out.

    ``conv``/``relay`` ("auto", "always", "never") choose the realisations of ``build.plan_path``;
    every choice gives the same bits. ``layers``: the neuron layers whose spikes are recorded (one Lava
    process each; default all; the output layer always): ``spikes`` holds only those. ``states`` holds the
    output layer's final v (its Monitor); ``info``: ``reset`` (the schedule), ``processes`` (Lava processes
    built, each one OS process, the Monitor left out) and ``realisations`` (path key -> ``build.plan_path``'s
    choice)."""
    start = time.perf_counter()
    net = int_net.net
    x, clipped = quantize_input(int_net, frames if samples is None else frames[:, :samples])
    x = x.numpy()
    steps, n = x.shape[:2]
    reset = choose_reset(net, reset)
    unknown = sorted(set(layers or ()) - set(net.neurons))
    if unknown:
        raise ConfigError(f"layers {unknown} are not neuron layers of the graph; pick from {list(net.neurons)}")
    record = None if layers is None else {*layers, net.output}
    tail = max(net.lags.values())
    gap = interval_gap(net)
    zeros = np.zeros((tail + gap, *x.shape[2:]), dtype=np.int64)
    if reset == "interval":
        period = steps + gap
        seq = np.concatenate([np.concatenate([x[:, k], zeros[:gap]]) for k in range(n)] + [zeros[:tail]])
        rasters, v, g, setup = _run_schedule(int_net, frames_to_lava(seq), len(seq), 1, period, conv, relay,
                                             record)
        windows = [(rasters[0], k * period, k * period) for k in range(n)]
    else:
        period = steps + tail
        seq = np.concatenate([np.concatenate([x[:, k], zeros[:tail]]) for k in range(n)])
        rasters, v, g, setup = _run_schedule(int_net, frames_to_lava(seq), period, n, period, conv, relay,
                                             record)
        windows = [(rasters[k], 0, k * period) for k in range(n)]
    spikes: dict[str, list[np.ndarray]] = {name: [] for name in g.sinks}
    v_hash = []
    for raw, off, v_off in windows:
        for name in g.sinks:
            lag = off + net.lags[name]
            spikes[name].append(raw[name][lag:lag + steps])
        lag = v_off + net.lags[net.output]
        v_hash.append(v[lag:lag + steps])
    out = {name: np.stack(s, axis=1) for name, s in spikes.items()}
    v_out = np.stack(v_hash, axis=1)
    return BackendResult("lava", out, hash_codes(out[net.output]), v_out, {net.output: {"v": v_out[-1]}},
                         {"input": {"clipped": clipped}}, time.perf_counter() - start, setup,
                         {"reset": reset, "processes": g.processes, "realisations": dict(g.realisations)})
