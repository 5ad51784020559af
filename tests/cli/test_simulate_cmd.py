"""`spikinghash export nir` and `spikinghash simulate` on tiny run folders, as a user runs them.

The run is a tiny neuromorphic profile (registered for these tests only) on a few dvs-digits
samples, with batch-norm statistics from event frames and half of the hash biases raised so
that the codes are neither all 0 nor all 1. Its NIR file is checked against the torch model's
own eval codes (float reference) and the integer codes against ``hw_sim.json``'s figures.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest
import torch
from torch import nn

from spikinghash.cli.main import main
from spikinghash.data.registry import dataset_info
from spikinghash.models import factory as registry
from spikinghash.models.neuromorphic import build_nir_hash_net
from spikinghash.models.neuromorphic_config import NirArchCfg, NirStageCfg
from spikinghash.retrieval.codes import load_codes, unpack_codes
from spikinghash.train.checkpoint import save_checkpoint
from spikinghash.train.config import TrainConfig, write_config
from spikinghash.train.trainer import RunData, build_model

TINY_NIR = "spikinghash_tiny_nir"
DATA = {"digits_per_class": 2, "temporal_per_class": 2}
REPORT_KEYS = {"model", "fingerprint", "T", "samples", "map_float", "map_integer", "hash_bit_agreement",
               "mean_firing_rate_float", "mean_firing_rate_integer", "quantization", "layers", "wall_seconds"}
LAYER_KEYS = {"name", "kind", "neurons", "rate_float", "rate_integer", "spike_agreement", "saturations", "wraps"}


def spikinghash_tiny_nir(**kwargs: Any) -> nn.Module:
    """A one-stage neuromorphic profile (stem 4, stage 8 with stride 2, one block)."""
    arch = NirArchCfg(stem_dim=4, stages=(NirStageCfg(8, 1, 2),), mlp_ratio=1.0, dwt_levels=1, mixer_groups=2)
    return build_nir_hash_net(arch, **kwargs)


@pytest.fixture(scope="module", autouse=True)
def _tiny_profile() -> Iterator[None]:
    torch.set_num_threads(1)
    registry._import_builders()
    registry._BUILDERS[TINY_NIR] = spikinghash_tiny_nir
    yield
    registry._BUILDERS.pop(TINY_NIR, None)


def make_run(run_dir: Path, model: str, bits: int = 16, T: int = 3) -> Path:
    """A run folder (config.yaml + checkpoint.pt) of an untrained ``model`` with event-frame BN statistics."""
    cfg = TrainConfig(model=model, data="dvs-digits", bits=bits, data_options=dict(DATA), T=T, epochs=1,
                      device="cpu", eval_every=1)
    info = dataset_info("dvs-digits")
    torch.manual_seed(0)
    net = build_model(cfg, RunData(info, len(info.classes), None, None, None))  # type: ignore[arg-type]
    norms = [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for bn in norms:
        bn.momentum = None
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        net.train()
        for _ in range(2):
            net(torch.poisson(torch.full((T, 4, 2, 32, 32), 0.5), generator=gen))
        head_norm = getattr(getattr(net, "hash_head", None), "norm", None)
        if isinstance(head_norm, nn.BatchNorm1d):
            head_norm.bias[: bits // 2] += 2.0
    run_dir.mkdir(parents=True)
    write_config(cfg, run_dir / "config.yaml")
    save_checkpoint(run_dir, {"model": net.eval().state_dict(), "epoch": 1})
    return run_dir


@pytest.fixture(scope="module")
def nir_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = make_run(tmp_path_factory.mktemp("sim") / "run", TINY_NIR)
    assert main(["eval", str(run)]) == 0  # the torch model's own codes: the float reference
    return run


def test_export_nir_writes_a_file_hw_sim_reads(nir_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from spikinghash.hw_sim.frontend.read import load

    out = tmp_path / "x.nir"
    assert main(["export", "nir", str(nir_run), "-o", str(out)]) == 0
    assert capsys.readouterr().out.startswith(f"wrote {out}: ")
    net = load(out)  # grouped convolutions pass the corrected type check
    assert net.output == "hash_head.sn" and net.neurons[net.output].shape == (16,)
    assert net.metadata["spikinghash"]["model"] == TINY_NIR and int(net.metadata["T"]) == 3


def test_simulate_fast_then_lava_keeps_both(nir_run: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["simulate", str(nir_run), "--backend", "fast", "--calib", "8", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "mAP float" in out and "hash-bit agreement" in out
    report = json.loads((nir_run / "hw_sim.json").read_text())
    assert REPORT_KEYS <= set(report)
    codes = load_codes(nir_run / "codes.npz")
    assert report["samples"] == {"query": len(codes.query_labels), "db": len(codes.db_labels)}
    assert report["T"] == 3 and report["model"] == TINY_NIR
    # The NIR file's float simulation reproduces the torch model's eval codes bit for bit.
    assert report["float_vs_model_bit_agreement"] == 1.0
    assert 0.0 <= report["hash_bit_agreement"] <= 1.0 and 0.0 <= report["map_integer"] <= 1.0
    hw = load_codes(nir_run / "hw_sim_codes.npz")
    assert hw.bits == 16 and hw.query_codes.shape == codes.query_codes.shape
    assert np.array_equal(hw.db_labels, codes.db_labels)
    ints = np.concatenate([unpack_codes(hw.query_codes, 16), unpack_codes(hw.db_codes, 16)])
    model = np.concatenate([unpack_codes(codes.query_codes, 16), unpack_codes(codes.db_codes, 16)])
    assert report["hash_bit_agreement"] == pytest.approx(np.mean(ints == model))
    assert 0 < model.mean() < 1  # codes neither all 0 nor all 1: the agreement means something

    counts = np.load(nir_run / "hw_sim_counts.npz")
    samples = report["samples"]["query"] + report["samples"]["db"]
    assert int(counts["samples"]) == samples and int(counts["T"]) == 3
    for row in report["layers"]:
        assert set(row) == LAYER_KEYS and 0.0 <= row["spike_agreement"] <= 1.0
        f, i = counts[f"float/{row['name']}"], counts[f"integer/{row['name']}"]
        assert f.size == row["neurons"] and f.dtype == np.int64
        assert row["rate_float"] == pytest.approx(f.sum() / (row["neurons"] * 3 * samples))
        assert row["rate_integer"] == pytest.approx(i.sum() / (row["neurons"] * 3 * samples))
    hash_row = report["layers"][-1]
    assert hash_row["name"] == "hash_head.sn" and hash_row["neurons"] == 16
    assert (nir_run / "hw_sim.png").stat().st_size > 1000
    quant = report["quantization"]
    assert quant["calib_samples"] == 8 and all(0 <= p["weight_exp"] <= 7 for p in quant["paths"].values())

    # A second run reuses the exported graph (same fingerprint) and gives the same figures.
    stamp = (nir_run / "model.nir").stat().st_mtime_ns
    assert main(["simulate", str(nir_run), "--calib", "8", "--quiet", "--limit", "2"]) == 0
    again = json.loads((nir_run / "hw_sim.json").read_text())
    assert (nir_run / "model.nir").stat().st_mtime_ns == stamp and again["samples"] == {"query": 2, "db": 2}


@pytest.mark.slow
def test_simulate_lava_is_bit_exact_and_keeps_fast_results(nir_run: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["simulate", str(nir_run), "--backend", "fast", "--calib", "8", "--quiet", "--limit", "2"]) == 0
    assert main(["simulate", str(nir_run), "--backend", "lava", "--samples", "1", "--calib", "8"]) == 0
    assert "bit-exact with fast: True" in capsys.readouterr().out
    report = json.loads((nir_run / "hw_sim.json").read_text())
    lava = report["lava"]
    assert lava["bit_exact"] is True and lava["mismatched_spikes"] == 0 and lava["samples"] == 1
    assert lava["seconds_per_sample"] > 0 and lava["fast_samples_per_s"] > 0
    assert report["samples"] == {"query": 2, "db": 2} and "map_integer" in report  # fast results kept


def test_paper_faithful_run_is_refused_with_its_operations(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    run = make_run(tmp_path / "paper", "spikinghash_ti", bits=8, T=4)  # its 3D DWT needs T % 4 == 0
    for argv in (["export", "nir", str(run)], ["simulate", str(run), "--quiet"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: spikinghash_ti cannot be exported to NIR") and err.count("\n") == 1
        assert "spiking self-attention" in err and "spikinghash_ti_nir" in err
    assert not (run / "model.nir").exists() and not (run / "hw_sim.json").exists()


def test_missing_run_and_corrupt_nir_file(nir_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["simulate", str(tmp_path / "nowhere"), "--quiet"]) == 2
    assert "nowhere does not exist; give a run folder" in capsys.readouterr().err
    bad = tmp_path / "bad.nir"
    bad.write_bytes(b"not an hdf5 file")
    from spikinghash.errors import DataError
    from spikinghash.hw_sim.frontend.read import load

    with pytest.raises(DataError, match="bad.nir' cannot be read as a NIR graph"):
        load(bad)
    # A corrupt model.nir inside the run is replaced by a fresh export, not trusted.
    copy = tmp_path / "run"
    copy.mkdir()
    for name in ("config.yaml", "checkpoint.pt"):
        (copy / name).write_bytes((nir_run / name).read_bytes())
    (copy / "model.nir").write_bytes(b"garbage")
    assert main(["simulate", str(copy), "--calib", "4", "--limit", "1", "--quiet"]) == 0
    load(copy / "model.nir")


def test_the_python_api_on_a_run_folder_gives_the_command_line_s_numbers(nir_run: Path, tmp_path: Path) -> None:
    import shutil

    import spikinghash as sh

    run = tmp_path / "run"
    shutil.copytree(nir_run, run)
    assert main(["simulate", str(run), "--calib", "8", "--quiet"]) == 0
    report = json.loads((run / "hw_sim.json").read_text())
    before = {p.name: p.stat().st_mtime_ns for p in run.iterdir()}
    d = sh.deploy(run, calib=8)
    summary = d.summary()
    assert summary["readout"] == "hash" and summary["source"] == "run" and summary["samples"] == report["samples"]
    for key in ("map_float", "map_integer", "hash_bit_agreement", "mean_firing_rate_integer"):
        assert summary[key] == report[key], key
    assert d.layers == report["layers"]
    assert {p.name: p.stat().st_mtime_ns for p in run.iterdir()} == before  # nothing written before report()
