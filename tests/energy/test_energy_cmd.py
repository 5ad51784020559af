"""`spikinghash energy RUN_DIR` on a tiny neuromorphic-profile run: files, float vs integer, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from spikinghash.cli.main import main

TINY_NIR = {"model": "spikinghash_ti_nir", "data": "dvs-digits", "bits": 8, "T": 2, "epochs": 1, "batch_size": 8,
            "eval_every": 1, "device": "cpu", "seed": 0,
            "data_options": {"digits_per_class": 3, "temporal_per_class": 3},
            "model_options": {"stem_dim": 8, "stages": [{"dim": 8, "depth": 0, "stride": 2},
                                                        {"dim": 16, "depth": 1, "stride": 2}],
                              "mlp_ratio": 1.0, "dwt_levels": 1, "mixer_groups": 2}}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("energy")
    (root / "tiny.yaml").write_text(yaml.safe_dump(TINY_NIR))
    run = root / "run"
    assert main(["train", "--config", str(root / "tiny.yaml"), "--out", str(run), "--quiet"]) == 0
    return run


@pytest.mark.slow
def test_energy_writes_json_and_png_then_uses_integer_counts(tiny_run: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["energy", str(tiny_run), "--samples", "6", "--quiet"]) == 0
    assert "wrote" in capsys.readouterr().out
    s = json.loads((tiny_run / "energy.json").read_text())
    assert (tiny_run / "energy.png").stat().st_size > 0
    assert s["graph"] == "nir" and s["samples"] == 6 and s["T"] == 2
    assert s["energy_pj_per_sample_integer"] is None and s["mean_firing_rate_integer"] is None
    assert s["energy_pj_per_sample_float"] == pytest.approx(s["float"]["totals_per_sample"]["energy_pj"])
    first = s["float"]["layers"][0]
    assert first["input_rate"] is None and first["mac_count"] == 2 * first["flops"]  # frames: MACs, T steps
    macs = sum(l["mac_count"] for l in s["float"]["layers"])
    sops = sum(l["sops"] for l in s["float"]["layers"])
    assert s["energy_pj_per_sample_float"] == pytest.approx(4.6 * macs + 0.9 * sops)  # Eq. 26
    ann = sum(4.6 * l["flops"] for l in s["float"]["layers"])
    assert s["energy_pj_per_sample_ann_fp32"] == pytest.approx(ann)
    _check_models(tiny_run, s, "float")

    # Integer counts as the deploy step writes them: 4 samples, every neuron fires once per sample.
    _write_counts(tiny_run, {n["name"] for n in s["float"]["neurons"]})
    assert main(["energy", str(tiny_run), "--samples", "6", "--quiet"]) == 0
    s2 = json.loads((tiny_run / "energy.json").read_text())
    assert s2["mean_firing_rate_integer"] == pytest.approx(1 / 2)  # 1 spike per neuron per sample over T = 2
    e_int = sum(4.6 * l["mac_count"] + 0.9 * l["flops"] * (0 if l["mac_count"] else 1) for l in s2["float"]["layers"])
    assert s2["energy_pj_per_sample_integer"] == pytest.approx(e_int)  # R × T = 1: SOP = FLOPs
    _check_models(tiny_run, s2, "integer")


def _check_models(run: Path, s: dict, view: str) -> None:
    """The energy models' keys: band = lowest and highest model, counterparts, break-even rates, PNGs; Eq. 26 of
    the model table is the view's Eq. 26."""
    sec = s["energy_models"]
    assert sec["spike_counts"] == view and sec["input_kind"] == "event_frames"
    by_model = s["energy_pj_per_sample_by_model"]
    assert set(by_model) == {"eq26", "mem45", "loihi"}
    assert by_model["eq26"] == pytest.approx(s[f"energy_pj_per_sample_{view}"])
    band = s["energy_pj_per_sample_band"]
    assert band["low"] == min(by_model.values()) == by_model[band["low_model"]]
    assert band["high"] == max(by_model.values()) == by_model[band["high_model"]]
    for c in ("ann_fp32", "ann_int8", "ann_lowbit"):
        assert s[f"energy_pj_per_sample_{c}"] == sec["counterparts"][c]["energy_pj_per_sample"] > 0
    assert set(s["break_even_rate"]) == set(by_model)
    assert "hardware" not in s and "ann" not in s
    for png in ("energy_models.png", "energy_break_even.png"):
        assert (run / png).stat().st_size > 0


def _write_counts(run: Path, layers: set[str]) -> None:
    """``hw_sim_counts.npz`` with 4 spikes per neuron over 4 samples, in each layer's neuron shape."""
    from spikinghash.export.nir_export import export_nir
    from spikinghash.hw_sim.frontend.read import load
    from spikinghash.pipeline.run_dir import load_run

    trained = load_run(run)
    net = load(export_nir(trained.model, run / "scratch.nir", T=2))
    arrays = {f"integer/{n}": np.full(layer.shape, 4, np.int64) for n, layer in net.neurons.items()}
    assert set(net.neurons) == layers
    np.savez(run / "hw_sim_counts.npz", samples=np.array(4), T=np.array(2), **arrays)


@pytest.mark.parametrize("args, message", [
    (["energy", "no/such/run"], "does not exist"),
    (["energy", "."], "is neither a run folder"),
    (["energy", ".", "--samples", "0"], "--samples 0"),
])
def test_bad_input_is_one_line_and_exit_code_2(args: list[str], message: str, capsys: pytest.CaptureFixture) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1
