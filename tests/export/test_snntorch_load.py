"""The CLI's domain functions for --snntorch (export/snntorch_load.py): factory, weights, shape, graph."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

import nir
import pytest
import torch

from spikinghash.errors import ConfigError, DataError
from spikinghash.export.nir_export import write_graph
from spikinghash.export.snntorch_load import load_factory, load_weights, parse_input_shape, snntorch_graph
from spikinghash.hw_sim.frontend.portable import make_portable

FACTORY = '''
import snntorch as snn
from torch import nn

def build():
    return nn.Sequential(nn.Linear(4, 3), snn.Leaky(beta=0.5, init_hidden=True, reset_mechanism="zero"))

def not_a_module():
    return 3
'''


@pytest.fixture()
def user_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    (tmp_path / "user_snn_net.py").write_text(FACTORY)
    monkeypatch.chdir(tmp_path)
    yield "user_snn_net"
    sys.modules.pop("user_snn_net", None)


def test_factory_weights_and_graph(user_module: str, tmp_path: Path) -> None:
    trained = load_factory(f"{user_module}:build")
    with torch.no_grad():
        trained[0].weight.fill_(0.25)
    torch.save(trained.state_dict(), tmp_path / "sd.pt")
    graph = snntorch_graph(f"{user_module}:build", (4,), weights=tmp_path / "sd.pt", dt=2e-3)
    assert (graph.nodes["0"].weight == 0.25).all() and graph.metadata["dt"] == 2e-3
    assert graph.metadata["snntorch"]["factory"] == f"{user_module}:build"
    portable = make_portable(snntorch_graph(f"{user_module}:build", (4,)))
    assert portable.metadata["dt"] == 1e-4
    write_graph(graph, tmp_path / "m.nir")
    assert set(nir.read(tmp_path / "m.nir", type_check=False).nodes) == {"input", "0", "1", "output"}


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_bad_requests(user_module: str, tmp_path: Path) -> None:
    for spec, needle in [("user_snn_net", "PKG.MODULE:FACTORY"), ("no_such_pkg_xyz:build", "cannot import"),
                         (f"{user_module}:missing", "no callable"), (f"{user_module}:not_a_module", "not a torch.nn.Module")]:
        with pytest.raises(ConfigError, match=needle):
            load_factory(spec)
    net = load_factory(f"{user_module}:build")
    with pytest.raises(DataError, match="not found"):
        load_weights(net, tmp_path / "none.pt")
    (tmp_path / "evil.pt").write_bytes(pickle.dumps(print))
    with pytest.raises(DataError, match="not a plain state dict"):
        load_weights(net, tmp_path / "evil.pt")
    torch.save({"other.weight": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(ConfigError, match="does not fit"):
        load_weights(net, tmp_path / "other.pt")
    assert parse_input_shape("2,34,34") == (2, 34, 34)
    for text in ("", "2,x", "0,3"):
        with pytest.raises(ConfigError, match="--input-shape"):
            parse_input_shape(text)
