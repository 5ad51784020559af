"""A hand-made run folder: small fake eval/hw_sim/energy JSONs, codes and a checkpoint with S_soft."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from spikinghash.retrieval.codes import CodeSet, save_codes

BITS = 8
# 3 classes; database codes chosen by hand, queries = the first two database rows.
DB_BITS = np.array([
    [1, 1, 1, 1, 0, 0, 0, 0],
    [1, 1, 1, 0, 0, 0, 0, 0],
    [0, 0, 0, 0, 1, 1, 1, 1],
    [0, 0, 0, 1, 1, 1, 1, 1],
    [1, 0, 1, 0, 1, 0, 1, 0],
], dtype=np.uint8)
DB_LABELS = np.array([0, 0, 1, 1, 2])
SOFT = np.array([[1.0, 0.0, 0.7], [0.0, 1.0, 0.0], [0.7, 0.0, 1.0]])


def eval_json(map_value: float, map_k: str | int = "all") -> dict:
    return {"model": "spikinghash_ti_nir", "data": "dvs-digits", "epoch": 3, "bits": BITS, "queries": 2,
            "map_k": map_k, "map": map_value, "precision_k": 100, "precision": 0.625, "ndcg_n": 100,
            "acg": 0.5, "ndcg": 0.75,
            "pr_curve": {"radius": list(range(BITS + 1)), "precision": [1.0] * (BITS + 1),
                         "recall": [i / BITS for i in range(BITS + 1)]}}


HW_SIM = {"model": "spikinghash_ti_nir", "fingerprint": "abc", "T": 4, "samples": {"query": 2, "db": 5},
          "map_float": 0.81, "map_integer": 0.79, "hash_bit_agreement": 0.9375,
          "mean_firing_rate_float": 0.125, "mean_firing_rate_integer": 0.1171875,
          "quantization": {"weight_bits": 8},
          "layers": [{"name": "stem.sn", "kind": "LIF", "neurons": 100, "rate_float": 0.2, "rate_integer": 0.19,
                      "spike_agreement": 0.98, "saturations": 0, "wraps": 0},
                     {"name": "hash.sn", "kind": "LIF", "neurons": 8, "rate_float": 0.05, "rate_integer": 0.045,
                      "spike_agreement": 0.99, "saturations": 0, "wraps": 0}],
          "lava": {"samples": 3, "bit_exact": True, "mismatched_spikes": 0, "seconds_per_sample": 2.5,
                   "fast_samples_per_s": 400.0},
          "wall_seconds": 12.5}


def energy_json(e_float: float, e_ann: float) -> dict:
    return {"energy_pj_per_sample_float": e_float, "energy_pj_per_sample_integer": e_float * 0.9,
            "energy_pj_per_sample_ann_fp32": e_ann, "mean_firing_rate_float": 0.5, "mean_firing_rate_integer": 0.4,
            "energy_pj_per_sample_band": {"low": e_float * 0.9, "high": e_float * 40, "low_model": "eq26",
                                          "high_model": "loihi"},
            "energy_pj_per_sample_ann_int8": e_ann / 4, "energy_pj_per_sample_ann_lowbit": e_ann / 5,
            "break_even_rate": {"eq26": {"ann_fp32": 1.2}},
            "constants": {"E_MAC_pj": 4.6, "E_AC_pj": 0.9, "source": "Horowitz 2014"},
            "float": {"layers": [{"name": "stem", "type": "Conv2d", "flops": 100, "input_rate": None,
                                  "mac_count": 100, "ac_count": 0, "energy_pj": 460.0},
                                 {"name": "hash", "type": "Affine", "flops": 50, "input_rate": 0.2,
                                  "mac_count": 0, "ac_count": 40, "energy_pj": 36.0}]},
            "integer": {"layers": [{"name": "stem", "type": "Conv2d", "flops": 100, "input_rate": None,
                                    "mac_count": 100, "ac_count": 0, "energy_pj": 460.0},
                                   {"name": "hash", "type": "Affine", "flops": 50, "input_rate": 0.1,
                                    "mac_count": 0, "ac_count": 20, "energy_pj": 18.0}]}}


def make_run(run: Path, *, map_value: float = 0.8, hw_sim: bool = True, energy: tuple[float, float] | None = (
        1000.0, 5000.0), integer_flip: bool = True) -> Path:
    run.mkdir(parents=True)
    (run / "eval.json").write_text(json.dumps(eval_json(map_value)))
    save_codes(run / "codes.npz", CodeSet.from_bits(DB_BITS[:2], DB_BITS, DB_LABELS[:2], DB_LABELS))
    if hw_sim:
        (run / "hw_sim.json").write_text(json.dumps(HW_SIM))
        integer = DB_BITS.copy()
        if integer_flip:
            integer[0, 7] = 1  # one bit differs from the float codes
        save_codes(run / "hw_sim_codes.npz", CodeSet.from_bits(integer[:2], integer, DB_LABELS[:2], DB_LABELS))
    if energy is not None:
        (run / "energy.json").write_text(json.dumps(energy_json(*energy)))
    torch.save({"format": 1, "epoch": 3, "soft_similarity": {"soft": torch.tensor(SOFT)}}, run / "checkpoint.pt")
    return run


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)
