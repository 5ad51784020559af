"""verify/float_vs_integer.py (float vs integer tallies), verify/backends.py (a backend against the fast simulator)
and the front end's reading of NIR files."""

from __future__ import annotations

from dataclasses import replace

from pathlib import Path
from types import SimpleNamespace

import nir
import numpy as np
import pytest

from spikinghash.errors import ConfigError, DataError
from spikinghash.hw_sim.backends.fast import simulate_int
from spikinghash.hw_sim.frontend.float_sim import simulate_float
from spikinghash.hw_sim.frontend.read import load
from spikinghash.hw_sim.target.quantize import quantize
from spikinghash.hw_sim.verify.backends import compare_with_fast
from spikinghash.hw_sim.verify.compare import code_agreement
from spikinghash.hw_sim.verify.float_vs_integer import Tally, simulate_split


def test_tally_by_hand() -> None:
    """Two batches of a 2-neuron layer over T=2 steps: totals, rates, agreement and counters by hand."""
    tally = Tally()
    f1 = np.array([[[1, 0]], [[1, 1]]], np.uint8)  # [T=2, B=1, 2]
    i1 = np.array([[[1, 0]], [[0, 1]]], np.uint8)
    counts = {"h": {"v_saturations": 2, "u_wraps": 1, "synapse_wraps": 3}, "input": {"clipped": 5}}
    tally.add({"h": f1}, {"h": i1}, counts)
    f2 = np.ones((2, 2, 2), np.uint8)  # [T=2, B=2, 2]
    tally.add({"h": f2}, {"h": f2}, counts)
    assert tally.samples == 3 and tally.steps == 2 and tally.input_clipped == 10
    assert tally.spikes_float["h"].tolist() == [6, 5] and tally.spikes_int["h"].tolist() == [5, 5]
    layer = SimpleNamespace(shape=(2,), kind="LIF")
    net = SimpleNamespace(net=SimpleNamespace(neurons={"h": layer}))
    (row,) = Tally.layers(tally, net)  # type: ignore[arg-type]
    assert row == {"name": "h", "kind": "LIF", "neurons": 2, "rate_float": 11 / 12, "rate_integer": 10 / 12,
                   "spike_agreement": 11 / 12, "saturations": 4, "wraps": 8}
    assert tally.mean_rates() == (11 / 12, 10 / 12)
    arrays = tally.counts_arrays()
    assert sorted(arrays) == ["T", "float/h", "integer/h", "samples"] and arrays["float/h"].dtype == np.int64
    assert code_agreement(np.array([[0, 1], [1, 1]]), np.array([[0, 0], [1, 1]]))["bit_agreement"] == 0.75


def test_simulate_split_matches_whole_runs(graphs: SimpleNamespace, count_frames) -> None:
    """Batched tallies equal one float and one integer run over all samples at once."""
    net = load(graphs.rich(3))
    int_net = quantize(net, count_frames(5, 16, seed=1))
    x = count_frames(5, 7, seed=2)
    tally = Tally()
    codes = simulate_split(int_net, (x[:, i:i + 3] for i in range(0, 7, 3)), tally)
    whole_f, whole_i = simulate_float(net, x), simulate_int(int_net, x)
    assert np.array_equal(codes.float_codes, whole_f.codes) and np.array_equal(codes.int_codes, whole_i.codes)
    for name in net.neurons:
        assert np.array_equal(tally.spikes_float[name], whole_f.spikes[name].sum(axis=(0, 1)))
        assert np.array_equal(tally.spikes_int[name], whole_i.spikes[name].sum(axis=(0, 1)))
        assert tally.agree[name] == np.count_nonzero(whole_f.spikes[name] == whole_i.spikes[name])
    assert tally.samples == 7 and tally.steps == 5


def test_lava_vs_fast_reports_a_mismatch_it_is_given(graphs: SimpleNamespace, count_frames) -> None:
    """With a 'Lava' that flips one spike, the comparison counts exactly that spike."""
    net = load(graphs.rich(4))
    int_net = quantize(net, count_frames(5, 8, seed=3))
    x = count_frames(5, 3, seed=4)

    def flipped(int_net, frames):  # type: ignore[no-untyped-def]
        run = simulate_int(int_net, frames)
        spikes = {n: s.copy() for n, s in run.spikes.items()}
        spikes["n1"][2, 1, 0, 3, 3] ^= 1
        return replace(run, backend="lava", spikes=spikes, seconds=1.0, setup_seconds=0.4, info={"reset": "interval"})

    out = compare_with_fast(int_net, x, 2, "lava", runner=flipped)
    assert out["samples"] == 2 and out["bit_exact"] is False and out["mismatched_spikes"] == 1
    assert out["mismatched_spikes_per_layer"]["n1"] == 1 and out["seconds_per_sample"] == 0.5
    assert out["seconds_per_sample_after_startup"] == pytest.approx(0.3)  # (1.0 - 0.4) / 2
    assert out["fast_timing_samples"] == 2 and out["speedup"] == pytest.approx(0.3 * out["fast_samples_per_s"])


def test_real_lava_is_bit_exact_with_fast(graphs: SimpleNamespace, count_frames) -> None:
    net = load(graphs.rich(5))
    int_net = quantize(net, count_frames(5, 8, seed=5))
    out = compare_with_fast(int_net, count_frames(5, 2, seed=6), 1, "lava", timing_frames=count_frames(5, 16, seed=7))
    assert out["bit_exact"] is True and out["mismatched_spikes"] == 0 and out["samples"] == 1
    assert out["fast_samples_per_s"] > 0 and out["fast_timing_samples"] == 16
    assert 0 < out["seconds_per_sample_after_startup"] < out["seconds_per_sample"]


def _grouped_graph() -> nir.NIRGraph:
    rng = np.random.default_rng(0)
    shape = (4, 4, 4)
    lif = nir.LIF(tau=np.full(shape, 2e-3), r=np.ones(shape), v_leak=np.zeros(shape),
                  v_threshold=np.ones(shape), v_reset=np.zeros(shape))
    conv = nir.Conv2d(input_shape=(4, 4), weight=rng.normal(size=(4, 2, 3, 3)), stride=1, padding=1, dilation=1,
                      groups=2, bias=np.zeros(4))
    nodes = {"in": nir.Input(input_type={"input": np.array(shape)}), "conv": conv, "n": lif,
             "out": nir.Output(output_type={"output": np.array(shape)})}
    return nir.NIRGraph(nodes=nodes, edges=[("in", "conv"), ("conv", "n"), ("n", "out")],
                        metadata={"dt": 1e-3}, type_check=False)


def test_load_reads_grouped_convolutions_that_nirs_own_check_rejects(tmp_path: Path) -> None:
    path = tmp_path / "g.nir"
    nir.write(path, _grouped_graph())
    with pytest.raises(Exception):
        nir.read(path)  # NIR 1.0.8's type check: the reason graph.load reads with type_check=False
    net = load(path)
    assert net.synapses["conv->n"].weight.shape == (4, 2, 3, 3) and net.neurons["n"].shape == (4, 4, 4)


def test_load_names_the_file_or_node_of_bad_input(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not found"):
        load(tmp_path / "missing.nir")
    corrupt = tmp_path / "corrupt.nir"
    corrupt.write_bytes(b"\x89HDF\r\n garbage")
    with pytest.raises(DataError, match="corrupt.nir' cannot be read"):
        load(corrupt)
    graph = _grouped_graph()
    graph.nodes["n"] = nir.CubaLIF(tau_syn=np.full((4, 4, 4), 2e-3), tau_mem=np.full((4, 4, 4), 2e-3),
                                   r=np.ones((4, 4, 4)), v_leak=np.zeros((4, 4, 4)),
                                   v_threshold=np.ones((4, 4, 4)), v_reset=np.full((4, 4, 4), 0.2))
    unsupported = tmp_path / "cuba.nir"
    nir.write(unsupported, graph)
    with pytest.raises(ConfigError, match=r"node 'n' \(CubaLIF\): v_reset=\[0.2\] is not supported"):
        load(unsupported)
    shapes = _grouped_graph()
    shapes.nodes["out"] = nir.Output(output_type={"output": np.array([3, 4, 4])})
    mismatched = tmp_path / "shapes.nir"
    nir.write(mismatched, shapes)
    with pytest.raises(ConfigError, match="shapes.nir' fails NIR's type check"):
        load(mismatched)
