"""The offending-operation scan and the graph checks (export/nir_check.py)."""

from __future__ import annotations

import nir
import numpy as np
import pytest
from torch import nn

from spikinghash.errors import ConfigError
from spikinghash.export.nir_check import check_nir_exportable, find_offending, type_check
from spikinghash.hw_sim.frontend.graph import parse
from spikinghash.models import create_model

SMALL = {"in_channels": 2, "img_size": 16, "T": 4, "bits": 16}
SSA = "spiking self-attention: multiplies two spike tensors"
MAXPOOL = "max-pool: no NIR node"
SWM = "Spiking WaveMixer: its Hadamard mixer weights change from one time step to the next"


def test_spikinghash_s_lists_every_attention_max_pool_and_mixer() -> None:
    model = create_model("spikinghash_s", **SMALL)
    with pytest.raises(ConfigError) as err:
        check_nir_exportable(model, "spikinghash_s")
    message = str(err.value)
    # Table I, S: SWM blocks in stages 1-2, SSA in 3-4, max-pool after the downsample conv of 3-4
    # (stage i is backbone.stages.{i-1}: [downsample (SN, [conv, BN, MP]), block]).
    expected = {
        "backbone.stages.0.1.mixer": SWM, "backbone.stages.1.1.mixer": SWM,
        "backbone.stages.2.0.1.2": MAXPOOL, "backbone.stages.2.1.mixer": SSA,
        "backbone.stages.3.0.1.2": MAXPOOL, "backbone.stages.3.1.mixer": SSA,
    }
    assert message.startswith("spikinghash_s cannot be exported to NIR: backbone.stages.0.1.mixer (")
    positions = [message.index(f"{path} ({reason}") for path, reason in expected.items()]
    assert positions == sorted(positions)  # in module order
    assert len(find_offending(model)) == len(expected)
    assert "spikinghash_s_nir" in message and "spikinghash_ti_nir" in message and "\n" not in message


def test_spikingformer_lists_its_attention_blocks_and_pools() -> None:
    model = create_model("spikingformer", **SMALL)  # 2 SSA blocks; 16 px -> one max-pool (16 -> 8)
    offenses = find_offending(model)
    assert [o.path for o in offenses if o.reason.startswith(SSA)] == [
        "backbone.stages.3.1.mixer", "backbone.stages.3.2.mixer"]
    assert [o.path for o in offenses if o.reason == MAXPOOL] == ["backbone.stages.2.0.1.2"]
    assert len(offenses) == 3


def test_transhash_lists_its_ann_operations() -> None:
    model = create_model("transhash", **SMALL)  # depth 4: 3 encoder blocks, global and local block
    offenses = find_offending(model)
    kinds = [o.reason.split(":")[0] for o in offenses]
    assert offenses[0].path == "" and kinds[0] == "TransHash"
    blocks = 5
    assert kinds.count("softmax self-attention") == blocks
    assert kinds.count("layer norm") == 2 * blocks + 2  # two per block, plus the two stream norms
    assert kinds.count("GELU") == blocks
    with pytest.raises(ConfigError, match=r"^transhash cannot be exported to NIR: \(model\) \(TransHash"):
        check_nir_exportable(model, "transhash")


@pytest.mark.parametrize("name", ["spikinghash_ti_nir", "spikinghash_s_nir"])
def test_neuromorphic_profiles_have_no_offence(name: str) -> None:
    model = create_model(name, **SMALL)
    assert find_offending(model) == []
    check_nir_exportable(model, name)


def test_batch_norm_is_an_offence_only_where_nothing_absorbs_it() -> None:
    model = nn.Sequential(nn.Conv2d(2, 2, 1), nn.BatchNorm2d(2), nn.ReLU(), nn.BatchNorm2d(2))
    offenses = find_offending(model)
    assert [o.path for o in offenses] == ["3"]
    assert "batch norm not directly after" in offenses[0].reason


def _lif(shape: tuple[int, ...]) -> nir.LIF:
    ones = np.ones(shape)
    return nir.LIF(tau=2 * ones, r=ones, v_leak=0 * ones, v_threshold=ones, v_reset=0 * ones)


def _conv(c_in: int, c_out: int, groups: int = 1) -> nir.Conv2d:
    return nir.Conv2d(input_shape=(4, 4), weight=np.ones((c_out, c_in // groups, 3, 3)), stride=1, padding=1,
                      dilation=1, groups=groups, bias=np.zeros(c_out))


def _graph(nodes: dict, edges: list) -> nir.NIRGraph:
    return nir.NIRGraph(nodes=nodes, edges=edges, type_check=False)


def _canonical_nodes() -> tuple[dict, list]:
    nodes = {"input": nir.Input(np.array([4, 4, 4])), "conv": _conv(4, 4, groups=4), "a": _lif((4, 4, 4)),
             "skip": nir.Scale(scale=np.ones((4, 4, 4))), "delay": nir.Delay(delay=np.full((4, 4, 4), 1e-3)),
             "back": _conv(4, 4), "b": _lif((4, 4, 4)), "flat": nir.Flatten(input_type={"input": np.array([4, 4, 4])},
                                                                            start_dim=0),
             "fc": nir.Affine(weight=np.ones((3, 64)), bias=np.zeros(3)), "code": _lif((3,)),
             "output": nir.Output(np.array([3]))}
    edges = [("input", "conv"), ("conv", "a"), ("a", "skip"), ("skip", "b"), ("a", "delay"), ("delay", "back"),
             ("back", "b"), ("b", "flat"), ("flat", "fc"), ("fc", "code"), ("code", "output")]
    return nodes, edges


def test_canonical_form_and_types_of_a_hand_graph() -> None:
    nodes, edges = _canonical_nodes()
    graph = _graph(nodes, edges)
    parse(graph)  # hw_sim's reader of the canonical form
    type_check(graph)
    with pytest.raises(ValueError, match="type mismatch"):  # NIR's own check without the correction
        _graph(*_canonical_nodes()).infer_types()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda n, e: (n | {"more": nir.Scale(scale=np.ones((4, 4, 4)))},
                       [x for x in e if x != ("skip", "b")] + [("skip", "more"), ("more", "b")]),
         "'skip' \\(Scale\\): stands between 'more' and its source"),
        (lambda n, e: (n, [x for x in e if x != ("flat", "fc")] + [("flat", "skip")]), "'skip' .*has 2 inputs"),
        (lambda n, e: (n, e + [("fc", "output")]), "must be fed by exactly one neuron node"),
        (lambda n, e: (n | {"relu": nir.Threshold(threshold=np.zeros((4, 4, 4)))}, e + [("a", "relu")]),
         "feeds neuron 'relu' directly"),
    ],
)
def test_non_canonical_graphs_are_refused(change, message: str) -> None:
    nodes, edges = change(*_canonical_nodes())
    with pytest.raises(ConfigError, match=message):
        parse(_graph(nodes, edges))
