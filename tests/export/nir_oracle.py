"""An independent oracle: any NIR graph stepped in numpy, straight from NIR 1.0.8's docstrings.

Independent of the code under test: it imports neither ``spikinghash`` nor torch, and writes
every node's equation out by hand. Semantics, per step of ``dt = metadata["dt"]`` (Euler):

* ``Affine``: ``W·x + b``; ``Linear``: ``W·x``; ``Scale``: ``s·x``; ``Flatten``: reshape of one
  sample's dims; ``Conv2d``: the sum over channels (of the group) and kernel taps of
  ``W[o, c, i, j]·x_pad[c, y·s + i·d, x·s + j·d]``; ``AvgPool2d``/``SumPool2d``: mean/sum of each window;
* ``LIF``: ``v ← v + dt/τ·(v_leak − v + R·I)``; ``IF``: ``v ← v + R·I``; ``CubaLIF``:
  ``I_syn ← I_syn + dt/τ_syn·(−I_syn + w_in·S)`` then ``v ← v + dt/τ_mem·(v_leak − v + R·I_syn)``;
  each: ``z = v > v_threshold``, then ``v ← v_reset`` where ``z``; states start at 0;
* inputs into one node are summed; a nested ``NIRGraph`` runs as one node with its own state;
  an edge that closes a cycle (found depth first from the inputs) carries its source's output of
  the previous step (zeros at the first step).
"""

from __future__ import annotations

from typing import Any

import nir
import numpy as np


def _pair(value: Any) -> tuple[int, int]:
    flat = [int(v) for v in np.atleast_1d(np.asarray(value))]
    return (flat[0], flat[0]) if len(flat) == 1 else (flat[0], flat[1])


def conv2d(x: np.ndarray, node: nir.Conv2d) -> np.ndarray:
    """``x [B, C, H, W]`` through ``node``, by the sum over kernel taps."""
    w = np.asarray(node.weight, np.float64)
    (sy, sx), (py, px), (dy, dx), groups = _pair(node.stride), _pair(node.padding), _pair(node.dilation), int(node.groups)
    out_ch, per_group, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (py, py), (px, px)))
    ho = (xp.shape[2] - dy * (kh - 1) - 1) // sy + 1
    wo = (xp.shape[3] - dx * (kw - 1) - 1) // sx + 1
    out = np.zeros((x.shape[0], out_ch, ho, wo))
    outs_per_group = out_ch // groups
    for g in range(groups):
        xg = xp[:, g * per_group:(g + 1) * per_group]
        wg = w[g * outs_per_group:(g + 1) * outs_per_group]
        for i in range(kh):
            for j in range(kw):
                patch = xg[:, :, i * dy:i * dy + sy * (ho - 1) + 1:sy, j * dx:j * dx + sx * (wo - 1) + 1:sx]
                out[:, g * outs_per_group:(g + 1) * outs_per_group] += np.einsum("bchw,oc->bohw", patch, wg[:, :, i, j])
    return out + np.asarray(node.bias, np.float64)[None, :, None, None]


def pool2d(x: np.ndarray, node: nir.AvgPool2d | nir.SumPool2d) -> np.ndarray:
    """Mean (AvgPool2d) or sum (SumPool2d) of each window of ``x [B, C, H, W]``."""
    (ky, kx), (sy, sx), (py, px) = _pair(node.kernel_size), _pair(node.stride), _pair(node.padding)
    xp = np.pad(x, ((0, 0), (0, 0), (py, py), (px, px)))
    ho, wo = (xp.shape[2] - ky) // sy + 1, (xp.shape[3] - kx) // sx + 1
    out = np.zeros((*x.shape[:2], ho, wo))
    for i in range(ky):
        for j in range(kx):
            out += xp[:, :, i:i + sy * (ho - 1) + 1:sy, j:j + sx * (wo - 1) + 1:sx]
    return out / (ky * kx) if isinstance(node, nir.AvgPool2d) else out


def _fire(v: np.ndarray, node: Any) -> tuple[np.ndarray, np.ndarray]:
    z = v > np.asarray(node.v_threshold, np.float64)
    return z.astype(np.float64), np.where(z, np.asarray(node.v_reset, np.float64), v)


def _step(node: Any, x: np.ndarray, state: Any, dt: float) -> tuple[np.ndarray, Any]:
    f = lambda a: np.asarray(a, np.float64)  # noqa: E731
    if isinstance(node, (nir.Input, nir.Output)):
        return x, None
    if isinstance(node, nir.Affine):
        return x @ f(node.weight).T + f(node.bias), None
    if isinstance(node, nir.Linear):
        return x @ f(node.weight).T, None
    if isinstance(node, nir.Scale):
        return x * f(node.scale), None
    if isinstance(node, nir.Flatten):
        dims = x.shape[1:]
        start, end = int(node.start_dim) % len(dims), int(node.end_dim) % len(dims)
        return x.reshape(x.shape[0], *dims[:start], -1, *dims[end + 1:]), None
    if isinstance(node, nir.Conv2d):
        return conv2d(x, node), None
    if isinstance(node, (nir.AvgPool2d, nir.SumPool2d)):
        return pool2d(x, node), None
    if isinstance(node, nir.LIF):
        v = np.zeros_like(x) if state is None else state
        v = v + dt / f(node.tau) * (f(node.v_leak) - v + f(node.r) * x)
        return _fire(v, node)
    if isinstance(node, nir.IF):
        v = (np.zeros_like(x) if state is None else state) + f(node.r) * x
        return _fire(v, node)
    if isinstance(node, nir.CubaLIF):
        i_syn, v = (np.zeros_like(x), np.zeros_like(x)) if state is None else state
        i_syn = i_syn + dt / f(node.tau_syn) * (-i_syn + f(node.w_in) * x)
        v = v + dt / f(node.tau_mem) * (f(node.v_leak) - v + f(node.r) * i_syn)
        z, v = _fire(v, node)
        return z, (i_syn, v)
    if isinstance(node, nir.NIRGraph):
        return Oracle(node, dt).step(x, state)
    raise NotImplementedError(f"oracle has no equation for {type(node).__name__}")


class Oracle:
    """Steps one NIR graph; ``step(x, state) -> (output, state)``, ``run(frames) -> outputs by node``."""

    def __init__(self, graph: nir.NIRGraph, dt: float | None = None) -> None:
        self.graph = graph
        meta = graph.metadata if isinstance(graph.metadata, dict) else {}
        self.dt = float(meta.get("dt", 1e-3)) if dt is None else dt
        self.inputs = [n for n, v in graph.nodes.items() if isinstance(v, nir.Input)]
        self.output = next(n for n, v in graph.nodes.items() if isinstance(v, nir.Output))
        succ: dict[str, list[str]] = {n: [] for n in graph.nodes}
        for a, b in graph.edges:
            succ[a].append(b)
        # Depth-first from the inputs: an edge into a node on the stack closes a cycle.
        self.back: set[tuple[str, str]] = set()
        done: set[str] = set()
        order: list[str] = []

        def visit(n: str, stack: set[str]) -> None:
            stack.add(n)
            for m in succ[n]:
                if m in stack:
                    self.back.add((n, m))
                elif m not in done:
                    visit(m, stack)
            stack.discard(n)
            done.add(n)
            order.append(n)

        for n in self.inputs:
            visit(n, set())
        self.order = order[::-1]  # reverse post-order: a topological order of the forward edges

    def step(self, x: np.ndarray, state: dict | None) -> tuple[np.ndarray, dict]:
        state = state or {"node": {}, "out": {}}
        previous = state["out"]
        out: dict[str, np.ndarray] = {}
        new_state: dict[str, Any] = {}
        for n in self.order:
            node = self.graph.nodes[n]
            if isinstance(node, nir.Input):
                total = x
            else:
                parts = []
                for a, b in self.graph.edges:
                    if b != n:
                        continue
                    if (a, b) in self.back:
                        parts.append(previous.get(a))
                    else:
                        parts.append(out[a])
                shape_like = next(p for p in parts if p is not None) if any(p is not None for p in parts) else None
                total = sum(p if p is not None else np.zeros_like(shape_like) for p in parts)
            out[n], new_state[n] = _step(node, total, state["node"].get(n), self.dt)
        return out[self.output], {"node": new_state, "out": out}

    def run(self, frames: np.ndarray) -> dict[str, np.ndarray]:
        """``frames [T, B, ...]`` -> every node's output ``[T, B, ...]`` by node name."""
        state = None
        record: dict[str, list[np.ndarray]] = {n: [] for n in self.graph.nodes}
        for frame in np.asarray(frames, np.float64):
            _, state = self.step(frame, state)
            for n, value in state["out"].items():
                record[n].append(value)
        return {n: np.stack(v) for n, v in record.items()}
