"""Per-layer tables of a report: firing rates (hw_sim.json) and Eq. 26's energy split into MAC and AC (energy.json).

Both readers accept the files' layer lists and return plain rows for plotting and for
report.json; a key a layer does not carry gives ``None`` and the row is left out of a plot.
"""

from __future__ import annotations

from typing import Any

MODELS = ("float", "integer")


def firing_rate_rows(hw_sim: dict[str, Any] | None) -> list[dict[str, Any]]:
    """``[{name, kind, neurons, rate_float, rate_integer, spike_agreement}]`` from hw_sim.json's ``layers``.

    Rates are spikes per neuron per time step (0..1).
    """
    rows = []
    for layer in (hw_sim or {}).get("layers") or []:
        rows.append({k: layer.get(k) for k in ("name", "kind", "neurons", "rate_float", "rate_integer",
                                               "spike_agreement")})
    return rows


def energy_rows(energy: dict[str, Any] | None) -> list[dict[str, Any]]:
    """``[{name, type, model, mac_count, ac_count, mac_pj, ac_pj, energy_pj, input_rate}]`` per layer and model.

    energy.json holds ``{"float": {"layers": [...]}, "integer": {"layers": [...]} or null}``, each
    layer with ``mac_count`` and ``ac_count`` per sample (Eq. 26's two terms, the first layer by input
    kind); they are priced (pJ per sample) with the
    file's own ``constants`` (``E_MAC_pj``, ``E_AC_pj``), so that the split adds up to its ``energy_pj``.
    """
    if not energy:
        return []
    from spikinghash.energy.targets import E_AC_PJ, E_MAC_PJ

    constants = energy.get("constants") or {}
    e_mac, e_ac = constants.get("E_MAC_pj", E_MAC_PJ), constants.get("E_AC_pj", E_AC_PJ)
    rows = []
    for model in MODELS:
        section = energy.get(model)
        for layer in section.get("layers") or [] if isinstance(section, dict) else []:
            macs, acs = layer.get("mac_count"), layer.get("ac_count")
            rows.append({"name": layer.get("name"), "type": layer.get("type"), "model": model,
                         "mac_count": macs, "ac_count": acs,
                         "mac_pj": None if macs is None else macs * e_mac,
                         "ac_pj": None if acs is None else acs * e_ac,
                         "energy_pj": layer.get("energy_pj"), "input_rate": layer.get("input_rate")})
    return rows
