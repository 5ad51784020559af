"""Consumers (hw_sim/frontend/consumers.py) and --portable (hw_sim/frontend/portable.py), checked against snnTorch
and the oracle.

The portable graphs are imported with snnTorch's own ``import_from_nir`` and stepped one sample
at a time (its ``Flatten`` merges the batch axis); their output spikes must equal the oracle of
the *original* graph, and, for snnTorch networks, snnTorch's forward of the original module.
"""

from __future__ import annotations

import contextlib
import io
import sys
from pathlib import Path

import nir
import numpy as np
import pytest
import torch
from torch import Tensor

from spikinghash.export.nir_executable import NIRExecutable
from spikinghash.export.nir_export import write_graph
from spikinghash.export.snntorch_nir import snntorch_to_nir
from spikinghash.hw_sim.frontend.consumers import probe_consumers, record_consumers, snntorch_import_inexact
from spikinghash.hw_sim.frontend.portable import make_portable

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from export.nir_oracle import Oracle  # noqa: E402  (the tests' independent oracle)
from export.snntorch_nets import conv_net, event_frames, recurrent_net, snntorch_spikes  # noqa: E402


def _imported_output(graph: nir.NIRGraph, frames: Tensor) -> np.ndarray:
    """snnTorch's importer on ``graph``, each sample of ``frames [T, B, ...]`` run alone: output ``[T, B, ...]``."""
    from snntorch.import_nir import import_from_nir

    per_sample = []
    for b in range(frames.shape[1]):
        with contextlib.redirect_stdout(io.StringIO()):
            net = import_from_nir(graph)
        state, outs = None, []
        with torch.no_grad():
            for frame in frames[:, b:b + 1]:
                out, state = net(frame, state)
                outs.append(out.reshape(1, -1).numpy())
        per_sample.append(np.stack(outs))
    return np.concatenate(per_sample, axis=1)


def test_nirtorch_interpreter_runs_snntorch_exports_exactly() -> None:
    for net, shape, rate in ((conv_net(), (2, 34, 34), 0.5), (recurrent_net(), (16,), 0.3)):
        graph = snntorch_to_nir(net, torch.zeros(1, *shape))
        frames = event_frames(12, 2, shape, seed=5, rate=rate)
        ref = snntorch_spikes(net, frames)
        run = NIRExecutable(graph, torch.float64)(frames.double())
        for path, spikes in ref.items():
            np.testing.assert_array_equal(run.spikes[path].numpy(), spikes, err_msg=path)


@pytest.mark.parametrize("build,shape,rate", [(lambda: conv_net(per_channel=False), (2, 34, 34), 0.5),
                                              (recurrent_net, (16,), 0.3)], ids=["conv", "recurrent"])
def test_portable_snntorch_export_imports_into_snntorch_exactly(build, shape, rate, tmp_path) -> None:
    net = build()
    graph = snntorch_to_nir(net, torch.zeros(1, *shape))  # dt = 1e-3: not what the importer assumes
    assert snntorch_import_inexact(graph)
    write_graph(make_portable(graph), tmp_path / "portable.nir")
    portable = nir.read(tmp_path / "portable.nir", type_check=False)  # the file, as a user would read it
    assert portable.metadata["dt"] == 1e-4 and snntorch_import_inexact(portable) == []
    assert probe_consumers(portable)["snntorch.import_nir"] == "yes"
    frames = event_frames(16, 2, shape, seed=6, rate=rate)
    ref = snntorch_spikes(net, frames)[list(snntorch_spikes(net, frames))[-1]]
    out = _imported_output(portable, frames)
    np.testing.assert_array_equal(out, ref.reshape(out.shape))
    np.testing.assert_array_equal(Oracle(portable).run(frames.numpy())["output"], ref)
    # Without --portable the importer runs the conv net with other dynamics (its hard-coded dt = 1e-4 s)
    # and refuses the CubaLIF ("r not supported").
    if build is recurrent_net:
        with pytest.raises(AssertionError, match="r not supported in CubaLIF"):
            _imported_output(graph, frames)
    else:
        assert not np.array_equal(_imported_output(graph, frames), ref.reshape(out.shape))


def _hand_graph() -> nir.NIRGraph:
    """Grouped conv → LIF (r = 1, τ = 2·dt) → per-channel Scale → LIF → SumPool2d → LIF → Flatten →
    Affine → CubaLIF (w_in = 1): every rewrite of --portable once; dyadic parameters, so that rescaled
    thresholds stay exact."""
    gen = np.random.default_rng(0)

    def lif(shape: tuple[int, ...], vth: float) -> nir.LIF:
        return nir.LIF(tau=np.full(shape, 2e-3), r=np.ones(shape), v_leak=np.zeros(shape),
                       v_threshold=np.full(shape, vth), v_reset=np.zeros(shape))

    conv = nir.Conv2d(input_shape=(8, 8), weight=np.round(gen.normal(0, 1, (4, 1, 3, 3)) * 8).astype(np.float32) / 8,
                      stride=1, padding=1, dilation=1, groups=2, bias=np.full(4, 0.25, np.float32))
    scale = np.repeat(np.array([1.5, -0.5, 2.0, 1.0], np.float32)[:, None, None], 8, 1).repeat(8, 2)
    nodes = {
        "input": nir.Input(input_type={"input": np.array([2, 8, 8])}), "conv": conv, "lif1": lif((4, 8, 8), 0.5),
        "scale": nir.Scale(scale=scale), "lif2": lif((4, 8, 8), 0.25),
        "pool": nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])),
        "lif3": lif((4, 4, 4), 0.5), "flat": nir.Flatten(input_type={"input": np.array([4, 4, 4])}, start_dim=0, end_dim=-1),
        "fc": nir.Affine(weight=(np.round(gen.normal(0, 0.5, (6, 64)) * 16) / 16).astype(np.float32),
                         bias=np.zeros(6, np.float32)),
        "cuba": nir.CubaLIF(tau_syn=np.full(6, 4e-3), tau_mem=np.full(6, 2e-3), r=np.ones(6), v_leak=np.zeros(6),
                            v_threshold=np.full(6, 0.5), v_reset=np.zeros(6), w_in=np.ones(6)),
        "output": nir.Output(output_type={"output": np.array([6])})}
    chain = list(nodes)
    graph = nir.NIRGraph(nodes=nodes, edges=list(zip(chain, chain[1:])), metadata={"dt": 1e-3}, type_check=False)
    from spikinghash.export.nir_check import type_check

    type_check(graph)
    return graph


def test_portable_rewrites_of_a_hand_graph_are_exact_in_snntorch() -> None:
    graph = _hand_graph()
    portable = make_portable(graph)
    kinds = {n: type(v).__name__ for n, v in portable.nodes.items()}
    assert kinds["scale"] == kinds["pool"] == "Conv2d" and portable.nodes["conv"].groups == 1
    assert len(portable.metadata["portable"]) == 1 + 7  # time; conv, scale, pool; 3 LIF membranes, the CubaLIF
    assert probe_consumers(graph)["snntorch.import_nir"].startswith("no")
    assert probe_consumers(portable)["snntorch.import_nir"] == "yes"
    frames = torch.poisson(torch.full((20, 3, 2, 8, 8), 0.8), generator=torch.Generator().manual_seed(7))
    expected = Oracle(graph).run(frames.numpy())
    assert 0.02 < expected["output"].mean() < 0.9 and 0.02 < expected["lif3"].mean() < 0.9
    got = Oracle(portable).run(frames.numpy())
    for name in ("lif1", "lif2", "lif3", "cuba"):
        np.testing.assert_array_equal(got[name], expected[name], err_msg=name)
    np.testing.assert_array_equal(_imported_output(portable, frames), expected["output"])


def test_record_consumers_writes_metadata_and_takes_extra_probes(tmp_path) -> None:
    graph = snntorch_to_nir(recurrent_net(), torch.zeros(1, 16))

    def refuse(g: nir.NIRGraph) -> None:
        raise ValueError("no CubaLIF here")

    consumers = record_consumers(graph, {"other": refuse, "accepting": lambda g: None})
    assert consumers == graph.metadata["consumers"]
    assert consumers["other"] == "no: ValueError: no CubaLIF here" and consumers["accepting"] == "yes"
    assert consumers["nirtorch"] == "yes"
    assert "assumes dt = 0.0001 s" in consumers["snntorch.import_nir"]
    nir.write(tmp_path / "g.nir", graph)
    assert nir.read(tmp_path / "g.nir", type_check=False).metadata["consumers"] == consumers


def test_portable_keeps_a_qat_graphs_scales_in_step_with_the_membranes() -> None:
    graph = _hand_graph()
    graph.metadata["spikinghash"] = {"qat_scales": {"lif1": 64.0, "cuba": 32.0}}
    portable = make_portable(graph)
    gain = graph.nodes["lif1"].r[0, 0, 0] * 1e-3 / graph.nodes["lif1"].tau[0, 0, 0]  # r·dt/τ = 0.5
    assert portable.metadata["spikinghash"]["qat_scales"]["lif1"] == 64.0 * gain
    assert portable.nodes["lif1"].v_threshold[0, 0, 0] * portable.metadata["spikinghash"]["qat_scales"]["lif1"] \
        == graph.nodes["lif1"].v_threshold[0, 0, 0] * 64.0  # the integer threshold is unchanged
    assert graph.metadata["spikinghash"]["qat_scales"]["lif1"] == 64.0  # the input graph is left alone
