"""Build the Lava process graph of an :class:`IntNet` (lava-nc's own processes, ``fixed_pt`` models).

Which Lava process realises each path (:func:`plan_path`), chosen for speed without changing
a single bit of what the layer receives:

- ``"sparse"`` for a ``kind="conv"`` path whose sum provably never reaches 2**23: Lava's
  ``Conv`` (``PyConvModelFixed``) convolves with one ``scipy.signal.convolve2d`` call per
  (output, input) channel pair in Python (0.1–1.1 s per step on the ti model's 128–1024
  channel layers), while ``Sparse`` with the unrolled matrix (``synapses.conv_matrix``) is one
  sparse product (~1–5 ms). Conv wraps its output at 24 bits, Sparse at 32: below
  ``|Σ w·x << weight_exp| < 2**23`` (:func:`conv_bound`: row sums of ``|w|`` times the largest
  input — 1 for spikes, the largest |value| of the frames actually sent for the graded input)
  neither wraps, so both send the exact sum. Otherwise ``Conv`` stays.
- ``"relay"`` for a delayed path from a neuron layer with a large matrix: Lava's
  ``DelaySparse``/``DelayDense`` rebuild a (max_delay + 1)-block weight matrix on every step
  (0.1–0.4 s per step for 4M synapses at delay 8–10). Instead the source's spikes go through an
  identity ``DelaySparse`` (delay D − 1, or a ``Sparse`` when D = 1) into a *relay* ``LIF``
  (du = dv = 4095, vth = 0, no bias: u = a_in·64 each step, so it spikes exactly when a spike
  arrives and keeps v = 0), and from it through the undelayed ``Sparse``/``Dense`` of the
  path: the spike of Lava step s still arrives at step s + 1 + D. Relays are shared per
  (source, D, whether the path has a float Delay, whose buffer is zeroed: see
  :func:`build_graph`). Graded input (the Input node) is never relayed.
- otherwise what the path's kind names: ``Conv``, or ``Dense``/``Sparse`` (their ``Delay``
  versions when the path needs a Lava delay). A recurrent path (a layer feeding itself, f steps
  late) is a ``Dense``/``Sparse`` from the layer's own ``s_out`` back into its ``a_in`` (its one
  step of latency is the float model's one step; ``DelayDense``/``DelaySparse`` for f > 1), its
  buffer zeroed when the layer's window opens, as a delayed path's is.

Lava lays 3-D data out as (W, H, C): kernels, biases and matrices are permuted here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from spikinghash.hw_sim.frontend.graph import CanonicalNet, Path
from spikinghash.hw_sim.spec import CONV_WRAP, DECAY_UNIT
from spikinghash.hw_sim.target.int_net import IntNet

Shape = tuple[int, ...]
RELAY_MIN_WORK = 200_000  # synapses × delay above which a relay beats DelaySparse's per-step rebuild
RELAY_DECAY = DECAY_UNIT - 1  # du = 4095: u keeps nothing of the previous step (dv = 4095: v keeps trunc(v / 4096))


def lava_shape(shape: Shape) -> Shape:
    """A layer's shape in Lava's axis order, every axis reversed: (C, H, W) -> (W, H, C) (the order Lava's
    ``Conv`` takes); [N] unchanged. The one place the layout rule lives; every Lava-facing array follows it."""
    return tuple(reversed(shape))


def _reversed_axes(ndim: int, lead: int = 0) -> tuple[int, ...]:
    return (*range(lead), *reversed(range(lead, ndim)))


def to_lava(a: np.ndarray, shape: Shape) -> np.ndarray:
    """Per-neuron array of a layer of ``shape`` in Lava's order (:func:`lava_shape`)."""
    return a.transpose(_reversed_axes(len(shape)))


def lava_order(shape: Shape) -> np.ndarray:
    """For each position of Lava's flattened order, the index in C-order flattening of ``shape``."""
    return to_lava(np.arange(int(np.prod(shape))).reshape(shape), shape).ravel()


def frames_to_lava(x: np.ndarray) -> np.ndarray:
    """Frames ``[S, *shape]`` -> a ``RingBuffer``'s data ``[*lava_shape(shape), S]``."""
    return x.transpose((*reversed(range(1, x.ndim)), 0))


def raster_from_lava(r: np.ndarray) -> np.ndarray:
    """A recording ``[S, *lava_shape(shape)]`` -> ``[S, *shape]``."""
    return r.transpose(_reversed_axes(r.ndim, lead=1))


def input_max(int_net: IntNet, path: Path, graded_max: int | None = None) -> int:
    """Largest |value| a path's source sends: 1 for spikes; for the graded input ``graded_max`` (the largest
    |value| of the frames being run) or else ``2**input_bits - 1``."""
    if path.source != int_net.net.input_name:
        return 1
    return (1 << int_net.input_bits) - 1 if graded_max is None else graded_max


def lava_matrix(int_net: IntNet, path: Path) -> sp.csr_matrix:
    """The path's integer weight matrix in Lava's flattened orders, ``[prod(out), prod(source)]``, int64."""
    net = int_net.net
    syn, q = net.synapses[path.key], int_net.synapses[path.key]
    m = syn.matrix(q.weight).tocsr()[lava_order(syn.out_shape)][:, lava_order(net.shapes[path.source])]
    m = m.astype(np.int64)
    m.eliminate_zeros()
    return m


def conv_bound(int_net: IntNet, path: Path, m: sp.csr_matrix, graded_max: int | None = None) -> int:
    """Upper bound of ``|Σ w·x| << weight_exp`` over all inputs the path can receive (``input_max``)."""
    rows = np.asarray(abs(m).sum(axis=1)).ravel()
    return (int(rows.max(initial=0)) * input_max(int_net, path, graded_max)) << int_net.synapses[path.key].weight_exp


def plan_path(int_net: IntNet, path: Path, m: sp.csr_matrix, conv: str = "auto", relay: str = "auto",
              graded_max: int | None = None) -> str:
    """"conv", "sparse", "relay" or "matrix" (module docstring); ``conv``/``relay``: "auto", "always", "never";
    ``graded_max``: the largest |graded input| that will be sent (None: any the input bits allow)."""
    net, q = int_net.net, int_net.synapses[path.key]
    if q.kind == "conv":
        wrap_free = conv_bound(int_net, path, m, graded_max) < CONV_WRAP
        return "sparse" if conv == "auto" and wrap_free or conv == "always" and wrap_free else "conv"
    delay = net.lava_delay(path)
    # a relay holds two steps of a recurrent path's pre-window spikes past its buffer's Reset: never relay one
    if delay and path.source != net.input_name and not path.recurrent and relay != "never":
        if relay == "always" or m.nnz * delay > RELAY_MIN_WORK:
            return "relay"
    return "matrix"


@dataclass
class LavaGraph:
    """The built processes: ``neurons`` per layer and the ``Extractor`` recording its spikes (``sinks``)."""

    source: Any
    neurons: dict[str, Any]
    sinks: dict[str, Any]
    realisations: dict[str, str] = field(default_factory=dict)
    processes: int = 0
    resets: int = 0  # Reset processes (one per delayed buffer zeroed when its source's window opens)


def _conv_process(int_net: IntNet, path: Path, msg_bits: int) -> Any:
    from lava.proc.conv.process import Conv

    syn, q = int_net.net.synapses[path.key], int_net.synapses[path.key]
    geo = syn.geometry()
    # Lava's Conv is a true convolution over (W, H): flip the kernel and reorder to (out, W, H, in).
    kernel = (q.weight.astype(np.int64) << q.weight_exp)[:, :, ::-1, ::-1].transpose(0, 3, 2, 1)
    return Conv(weight=np.ascontiguousarray(kernel), input_shape=lava_shape(syn.in_shape),
                padding=geo.padding[::-1], stride=geo.stride[::-1], dilation=geo.dilation[::-1],
                groups=geo.groups, num_message_bits=msg_bits)


def _matrix_process(m: sp.csr_matrix, weight_exp: int, delay: int, dense: bool, msg_bits: int) -> Any:
    from lava.proc.dense.process import DelayDense, Dense
    from lava.proc.sparse.process import DelaySparse, Sparse

    common = dict(weight_exp=weight_exp, num_weight_bits=8, num_message_bits=msg_bits)
    if dense:
        w = m.toarray()
        return DelayDense(weights=w, delays=np.full(w.shape, delay, dtype=int), max_delay=delay, **common) \
            if delay else Dense(weights=w, **common)
    if delay:
        delays = m.copy()
        delays.data = np.full(delays.nnz, delay, dtype=int)
        return DelaySparse(weights=m, delays=delays, max_delay=delay, **common)
    return Sparse(weights=m, **common)


def _adapt(port: Any, to_shape: Shape) -> Any:
    """Reshape a Lava port (virtual port) when the other end has another shape."""
    return port if tuple(port.shape) == tuple(to_shape) else port.reshape(to_shape)


def _zero_at(g: LavaGraph, var: Any, interval: int, step: int) -> None:
    """A Lava ``Reset`` process that zeroes ``var`` after Lava step ``step`` (0-based) of every ``interval`` steps
    (``Reset`` writes in the post-management phase of the steps where ``time_step - 1 ≡ offset``)."""
    from lava.proc.io.reset import Reset

    Reset(reset_value=0, interval=interval, offset=step % interval).connect_var(var)
    g.processes += 1
    g.resets += 1


def _synapse(g: LavaGraph, proc: Any, out_port: Any, lif: Any, discard: tuple[int, int] | None = None) -> None:
    """Connect ``proc`` from ``out_port`` into ``lif``; ``discard`` = (interval, step): zero its activation buffer
    after that step of every interval (``_zero_at``)."""
    _adapt(out_port, proc.s_in.shape).connect(proc.s_in)
    _adapt(proc.a_out, lif.a_in.shape).connect(lif.a_in)
    if discard is not None:
        _zero_at(g, proc.a_buff if hasattr(proc, "a_buff") else proc.a_buf, *discard)
    g.processes += 1


def _relay(g: LavaGraph, relays: dict, net: CanonicalNet, path: Path, out_ports: dict,
           discard: tuple[int, int] | None) -> Any:
    """The relay LIF's spike port for (source, delay, discard), built on first use; its identity synapse's
    buffer is zeroed as ``discard`` says (the relay LIF and the synapse after it hold no spike of the
    source's pre-window steps that could arrive in a window: lag[target] > lag[source])."""
    from lava.proc.lif.process import LIF

    delay = net.lava_delay(path)
    key = (path.source, delay, discard)
    if key not in relays:
        shape = lava_shape(net.shapes[path.source])
        n = int(np.prod(shape))
        lif = LIF(shape=shape, du=RELAY_DECAY, dv=RELAY_DECAY, vth=0, bias_mant=0, bias_exp=0)
        ident = sp.identity(n, dtype=np.int64, format="csr")
        _synapse(g, _matrix_process(ident, 0, delay - 1, False, 0), out_ports[path.source], lif, discard)
        g.processes += 1  # the relay LIF itself keeps no state from one step to the next
        relays[key] = lif.s_out
    return relays[key]


def interval_gap(net: CanonicalNet) -> int:
    """Steps G of zeros after each sample's T steps in the back-to-back schedule (``lava_net``): the longest
    float Delay (the input's delayed paths deliver the gap's zeros at the next window's first steps), and
    for each float-delayed path from a neuron layer at least ``lag[target] - lag[source]``, so that when its
    buffer is zeroed (``build_graph``: after Lava step ``lag[source] - 1`` of the next sample) every spike of
    the previous sample's source window that lands in its target window has been delivered."""
    delayed = (net.lags[p.target] - net.lags[p.source] for p in net.all_paths()
               if p.delay and p.source != net.input_name)
    return max([p.delay for p in net.all_paths()] + list(delayed), default=0)


def build_graph(int_net: IntNet, data: np.ndarray, sink_steps: int, interval: int, conv: str = "auto",
                relay: str = "auto", record: set[str] | None = None) -> LavaGraph:
    """Source of ``data [*lava_shape(input), S]``, one ``LIFReset`` per layer (reset every ``interval``
    steps at its window's first step), the paths as planned, one ``Extractor`` (channel of ``sink_steps``
    arrays) per layer in ``record`` (None: every layer).

    Float Delays see zeros before step 0 (NIR semantics, as ``fast_sim``): a layer fires before its
    window (on its bias, from the state before its ``LIFReset``: a fresh network's zeros or the previous
    sample's), and a path from it with a float Delay of k steps still holds its last k such steps when
    its window opens, which would arrive in the target's window. A ``Reset`` process zeroes that
    path's activation buffer (``DelaySparse``/``DelayDense`` ``a_buff``, or the relay's identity
    synapse) after Lava step ``lag[source] - 1`` of every ``interval``: everything the source sent before
    its window is discarded (what was already delivered reached the target before its ``LIFReset``;
    samples back to back need ``interval >= T + interval_gap``, else the previous window's last spikes
    would still be in that buffer; paths without a float Delay, relays included, are never zeroed).
    Every other buffer delivers its spikes of the source's pre-window steps before its target's
    ``LIFReset`` fires, and a relay LIF keeps no state, so every window depends only on its own
    sample, whatever ran before (``lava_net``'s two schedules)."""
    from lava.proc.io.extractor import Extractor
    from lava.proc.io.source import RingBuffer as Source
    from lava.proc.lif.process import LIFReset

    net = int_net.net
    source = Source(data=data)
    g = LavaGraph(source, {}, {}, processes=1)
    out_ports: dict[str, Any] = {net.input_name: source.s_out}
    relays: dict[tuple[str, int, tuple[int, int] | None], Any] = {}
    for name, layer in net.neurons.items():
        q, shape = int_net.neurons[name], layer.shape
        lif = LIFReset(shape=lava_shape(shape), du=q.du, dv=q.dv, vth=q.vth,
                       bias_mant=to_lava(q.bias_mant, shape), bias_exp=to_lava(q.bias_exp, shape),
                       reset_interval=interval, reset_offset=(1 + net.lags[name]) % interval)
        out_ports[name] = lif.s_out  # a recurrent path starts at its own target
        for path in net.paths[name]:
            msg_bits = int_net.input_bits if path.source == net.input_name else 0
            m = lava_matrix(int_net, path)
            how = plan_path(int_net, path, m, conv, relay, int(np.abs(data).max(initial=0)))
            g.realisations[path.key] = how
            exp, dense = int_net.synapses[path.key].weight_exp, net.synapses[path.key].lava_matrix == "dense"
            discard = (interval, net.lags[path.source] - 1) if path.delay and path.source != net.input_name \
                else None
            if how == "conv":
                _synapse(g, _conv_process(int_net, path, msg_bits), out_ports[path.source], lif)
            elif how == "relay":
                port = _relay(g, relays, net, path, out_ports, discard)
                _synapse(g, _matrix_process(m, exp, 0, dense, 0), port, lif)
            else:
                delay = net.lava_delay(path) if how == "matrix" else 0
                _synapse(g, _matrix_process(m, exp, delay, dense and how == "matrix", msg_bits),
                         out_ports[path.source], lif, discard)
        if record is None or name in record:
            g.sinks[name] = Extractor(shape=lava_shape(shape), buffer_size=sink_steps)
            lif.s_out.connect(g.sinks[name].in_port)
            g.processes += 1
        g.processes += 1
        out_ports[name], g.neurons[name] = lif.s_out, lif
    return g
