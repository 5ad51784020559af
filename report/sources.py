"""What a report is made of: the result files of one run, reduced to report.json's numbers.

A run folder collects one JSON file per pipeline stage (``pipeline.report`` reads them); the
report uses whichever exist:

===============  ==============================================  ====================================
file             written by                                      gives
===============  ==============================================  ====================================
``eval.json``    ``spikinghash eval RUN_DIR``                    float-model mAP, P@k, NDCG, PR curve
``hw_sim.json``  ``spikinghash simulate RUN_DIR --backend ...``  integer-model mAP, bit agreement,
                                                                 firing rates, Lava-vs-fast check
``energy.json``  ``spikinghash energy RUN_DIR``                  energy per sample and per layer
===============  ==============================================  ====================================

A missing file leaves its numbers ``null`` in report.json and is listed under ``missing``
together with the command that writes it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spikinghash.errors import DataError

# report.json's headline keys, always present (null when their source is missing).
HEADLINE = ("map_float", "map_integer", "hash_bit_agreement", "lava_samples", "lava_fast_bit_exact",
            "energy_pj_per_sample_float", "energy_pj_per_sample_integer", "energy_pj_per_sample_ann_fp32",
            "energy_pj_per_sample_band", "energy_pj_per_sample_ann_int8", "break_even_rate",
            "mean_firing_rate_float", "mean_firing_rate_integer", "wall_seconds")


@dataclass
class RunSources:
    """The parsed result files of a run (``None`` for a missing one) and the missing ones' fixes."""

    run_dir: Path
    files: dict[str, dict[str, Any] | None]
    missing: list[dict[str, str]] = field(default_factory=list)

    def get(self, source: str, *keys: str) -> Any:
        """``files[source][k1][k2]...``, or None where any level is absent."""
        node: Any = self.files.get(source)
        for key in keys:
            if not isinstance(node, dict) or key not in node:
                return None
            node = node[key]
        return node


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from ``path``; :class:`DataError` naming the file when it is not one."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as err:  # ValueError: JSON or UTF-8 decoding
        raise DataError(f"{path} is unreadable ({err}); delete it and run the command that writes it again") from None
    if not isinstance(data, dict):
        raise DataError(f"{path} does not hold a JSON object; delete it and write it again")
    return data


def _number(value: Any) -> float | int | None:
    """A JSON number, or None (booleans and strings are not numbers here)."""
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def lava_bit_exact(hw_sim: dict[str, Any] | None) -> bool | None:
    """True only if Lava ran on at least one sample and every spike matched the fast simulator."""
    lava = (hw_sim or {}).get("lava")
    if not isinstance(lava, dict) or not lava.get("samples"):
        return None
    return bool(lava.get("bit_exact")) and lava.get("mismatched_spikes", 0) == 0


def headline(src: RunSources, map_float_all: float | None) -> dict[str, Any]:
    """report.json's headline numbers from the sources (None where the source is missing).

    ``map_float_all`` is the float model's mAP@all: eval.json's ``map`` when it was computed at
    ``map_k = all``, else recomputed from ``codes.npz`` by the caller.
    """
    lava = src.get("hw_sim", "lava") or {}
    firing = {k: _number(src.get("hw_sim", k)) for k in ("mean_firing_rate_float", "mean_firing_rate_integer")}
    for k, v in firing.items():  # hw_sim measures them; energy.json repeats them
        if v is None:
            firing[k] = _number(src.get("energy", k))
    return {
        "map_float": map_float_all,
        "map_integer": _number(src.get("hw_sim", "map_integer")),
        "hash_bit_agreement": _number(src.get("hw_sim", "hash_bit_agreement")),
        "lava_samples": _number(lava.get("samples")) if isinstance(lava, dict) else None,
        "lava_fast_bit_exact": lava_bit_exact(src.files.get("hw_sim")),
        **{k: _number(src.get("energy", k)) for k in
           ("energy_pj_per_sample_float", "energy_pj_per_sample_integer", "energy_pj_per_sample_ann_fp32",
            "energy_pj_per_sample_ann_int8")},
        "energy_pj_per_sample_band": src.get("energy", "energy_pj_per_sample_band"),
        "break_even_rate": src.get("energy", "break_even_rate"),
        **firing,
        "wall_seconds": None,
    }


def details(src: RunSources) -> dict[str, Any]:
    """The other useful numbers: retrieval cutoffs, the simulation's checks and speed, the energy models and
    ``energy_ratio_ann_over_float`` (the fp32 ANN counterpart over the float SNN's Eq. 26, both pJ per sample)."""
    ev = src.files.get("eval") or {}
    hw = src.files.get("hw_sim") or {}
    lava = hw.get("lava") if isinstance(hw.get("lava"), dict) else {}
    out: dict[str, Any] = {k: ev.get(k) for k in ("model", "data", "bits", "epoch", "queries", "map_k", "map",
                                                    "precision_k", "precision", "ndcg_n", "acg", "ndcg")}
    out["model"] = out["model"] or hw.get("model")
    out.update({"T": hw.get("T"), "hw_sim_samples": hw.get("samples"), "hw_sim_map_float": hw.get("map_float"),
                "lava_mismatched_spikes": lava.get("mismatched_spikes"),
                "lava_seconds_per_sample": lava.get("seconds_per_sample"),
                "lava_seconds_per_sample_after_startup": lava.get("seconds_per_sample_after_startup"),
                "fast_samples_per_s": lava.get("fast_samples_per_s"),
                "fast_over_lava": lava.get("speedup"),
                "hw_sim_wall_seconds": hw.get("wall_seconds"), "readout": hw.get("readout", "hash" if hw else None),
                "accuracy_float": hw.get("accuracy_float"), "accuracy_integer": hw.get("accuracy_integer"),
                "accuracy_lava": hw.get("accuracy_lava")})
    out["energy_models"] = src.get("energy", "energy_models")  # report.md renders its table (energy.verdict)
    e_float = _number(src.get("energy", "energy_pj_per_sample_float"))
    e_ann = _number(src.get("energy", "energy_pj_per_sample_ann_fp32"))
    out["energy_ratio_ann_over_float"] = e_ann / e_float if e_float and e_ann is not None else None
    return out
