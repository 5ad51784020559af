"""Exact composition of chains of linear NIR nodes into one weighted node (the ``compose`` pass of ``passes``).

A chain (``SumPool2d → Conv2d``, ``Conv2d → Conv2d``, ``Affine → Scale → Affine``, with
``Flatten`` and ``Delay`` anywhere in it) is one affine map ``y = M·x + b``. Each node becomes a
:class:`Stage` on its known input shape, holding its exact matrix ``M`` (C-order flattening)
and bias; the chain's ``M`` is their product, computed exactly in float64 sparse arithmetic.
That map is then written as one canonical weighted node:

- ending in ``Affine``/``Linear`` (1-D output): ``Affine(M, b)`` (after a ``Flatten`` if the source is 3-D);
- 3-D output: one ``Conv2d``, composed analytically (:func:`compose_conv`: kernel of the two
  kernels' full correlation, stride ``s1·s2``, padding ``p1 + p2·s1``) and accepted only if its
  matrix equals ``M`` entry for entry (borders included) and ``b`` is one value per channel;
- elementwise only: ``Scale`` (1-D with a bias: a diagonal ``Affine``).

Anything else has no exact single-node form and is refused by ``passes`` with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from spikinghash.hw_sim.kinds import KINDS
from spikinghash.hw_sim.kinds.synapses import ConvGeometry, ConvSpec

Shape = tuple[int, ...]
MAX_DENSE = 64_000_000  # entries of a composed Affine matrix (float64: 512 MB)


@dataclass(frozen=True)
class Stage:
    """One linear node on a known input shape: ``matrix [prod(out), prod(in)]``, ``bias`` flat ``[prod(out)]``;
    ``conv`` if it is a convolution; ``delay`` in steps (Delay nodes); ``weighted`` False for Flatten/Delay."""

    name: str
    node: Any
    in_shape: Shape
    out_shape: Shape
    matrix: sp.csr_matrix
    bias: np.ndarray
    conv: ConvSpec | None
    delay: int = 0
    weighted: bool = True
    elementwise: bool = False


def identity_stage(name: str, node: Any, in_shape: Shape, out_shape: Shape, delay: int = 0) -> Stage:
    n = int(np.prod(in_shape))
    return Stage(name, node, in_shape, out_shape, sp.identity(n, format="csr"), np.zeros(n), None, delay, False)


def weighted_stage(name: str, node: Any, in_shape: Shape) -> Stage:
    """The :class:`Stage` of a weighted node (a kind of role "synapse" or "linear") on ``in_shape``: its exact
    matrix and bias, and its convolution form where it has one (``Synapse.conv_spec``)."""
    syn = KINDS[type(node)].build(node, name, in_shape)
    return Stage(name, node, in_shape, syn.out_shape, syn.matrix(syn.weight).tocsr(), syn.bias.ravel().copy(),
                 syn.conv_spec(), elementwise=syn.elementwise)


def compose_conv(first: ConvSpec, second: ConvSpec) -> ConvSpec:
    """``second ∘ first`` as one convolution: ``W[o, i, u·s1 + a] += W2[o, m, u] · W1[m, i, a]`` per axis,
    stride ``s1·s2``, padding ``p1 + p2·s1`` (the map is exact wherever the first one's output exists;
    ``passes`` checks the borders against the exact matrix)."""
    w1, w2 = first.weight, second.weight
    (s1h, s1w), (k1h, k1w), (k2h, k2w) = first.stride, w1.shape[2:], w2.shape[2:]
    out = np.zeros((w2.shape[0], w1.shape[1], s1h * (k2h - 1) + k1h, s1w * (k2w - 1) + k1w))
    for uh in range(k2h):
        for uw in range(k2w):
            out[:, :, uh * s1h:uh * s1h + k1h, uw * s1w:uw * s1w + k1w] += np.einsum(
                "om,mihw->oihw", w2[:, :, uh, uw], w1)
    stride = (s1h * second.stride[0], s1w * second.stride[1])
    padding = (first.padding[0] + second.padding[0] * s1h, first.padding[1] + second.padding[1] * s1w)
    return ConvSpec(out, stride, padding)


@dataclass(frozen=True)
class Composite:
    """A chain's exact map: ``matrix [prod(out), prod(in)]``, flat ``bias``, ``conv`` (None: no convolution
    form), total ``delay`` steps, the weighted stages' names and whether only elementwise maps took part."""

    in_shape: Shape
    out_shape: Shape
    matrix: sp.csr_matrix
    bias: np.ndarray
    conv: ConvSpec | None
    delay: int
    names: list[str]
    elementwise: bool


def compose(stages: list[Stage], counted: list[bool]) -> Composite:
    """Compose ``stages`` (source side first); ``counted[i]``: whether stage i's bias is added in this chain
    (a bias shared by several chains into one neuron is added once). Raises ValueError naming what fails."""
    m = sp.identity(int(np.prod(stages[0].in_shape)), format="csr")
    b = np.zeros(m.shape[0])
    conv: ConvSpec | None = None
    conv_ok, elementwise, delay, names = True, True, 0, []
    for stage, count in zip(stages, counted):
        if stage.delay and np.any(b != 0):
            raise ValueError(f"a bias before Delay {stage.name!r} would be delayed too (zeros before its first "
                             "steps), which a weighted node's every-step bias cannot hold")
        delay += stage.delay
        m = (stage.matrix @ m).tocsr()
        b = stage.matrix @ b + (stage.bias if count else 0.0)
        if not stage.weighted:
            conv_ok = conv_ok and (len(stage.out_shape) == 3 or stage.delay > 0)
            continue
        names.append(stage.name)
        elementwise = elementwise and stage.elementwise
        if stage.conv is None or not conv_ok:
            conv_ok = False
        else:
            conv = stage.conv if conv is None else compose_conv(conv, stage.conv)
    return Composite(stages[0].in_shape, stages[-1].out_shape, m, b, conv if conv_ok else None, delay, names,
                     elementwise)


def conv_matches(c: Composite) -> bool:
    """Whether ``c.conv`` realises ``c.matrix`` exactly on its shapes, borders included."""
    if c.conv is None or len(c.in_shape) != 3 or len(c.out_shape) != 3:
        return False
    geo = ConvGeometry(c.conv.stride, c.conv.padding, (1, 1), 1, c.conv.weight.shape)  # type: ignore[arg-type]
    if (c.conv.weight.shape[0], *geo.out_hw(*c.in_shape[1:])) != tuple(c.out_shape):
        return False
    diff = abs(c.conv.matrix(c.in_shape, c.out_shape) - c.matrix)
    scale = max(float(abs(c.matrix).max()) if c.matrix.nnz else 0.0, 1e-300)
    return diff.nnz == 0 or float(diff.max()) <= 1e-12 * scale


def channel_bias(c: Composite) -> np.ndarray | None:
    """The per-channel bias of a 3-D composite, or None if it differs within a channel (a border effect)."""
    per_channel = c.bias.reshape(c.out_shape[0], -1)
    ok = np.allclose(per_channel, per_channel[:, :1], rtol=1e-12, atol=1e-12 * max(np.abs(c.bias).max(initial=0), 1))
    return per_channel[:, 0].copy() if ok else None
