"""Per-layer rows: energy split into MAC and AC parts priced with the file's own constants."""

from __future__ import annotations

import pytest

from spikinghash.report.figures import short_name
from spikinghash.report.layers import energy_rows, firing_rate_rows

from .conftest import HW_SIM, energy_json


def test_energy_split_adds_up_to_each_layers_energy_and_skips_a_missing_integer_view() -> None:
    energy = energy_json(1000.0, 5000.0)
    energy["constants"] = {"E_MAC_pj": 2.0, "E_AC_pj": 0.5}  # other figures than the defaults: they must be used
    energy["float"]["layers"] = [{"name": "a", "type": "Conv2d", "mac_count": 10.0, "ac_count": 0.0,
                                  "energy_pj": 20.0, "input_rate": None},
                                 {"name": "b", "type": "Affine", "mac_count": 0.0, "ac_count": 8.0,
                                  "energy_pj": 4.0, "input_rate": 0.25}]
    energy["integer"] = None  # `energy` before `simulate`: no integer spike counts yet
    rows = energy_rows(energy)
    assert [(r["name"], r["model"], r["mac_pj"], r["ac_pj"]) for r in rows] == [
        ("a", "float", 20.0, 0.0), ("b", "float", 0.0, 4.0)]
    assert all(r["mac_pj"] + r["ac_pj"] == pytest.approx(r["energy_pj"]) for r in rows)
    assert energy_rows(None) == []


def test_firing_rate_rows_keep_the_layers_order() -> None:
    rows = firing_rate_rows(HW_SIM)
    assert [(r["name"], r["neurons"], r["rate_float"], r["rate_integer"]) for r in rows] == [
        ("stem.sn", 100, 0.2, 0.19), ("hash.sn", 8, 0.05, 0.045)]
    assert firing_rate_rows(None) == []


def test_short_layer_names() -> None:
    assert short_name("backbone.stages.1.blocks.0.swm.levels.0.h->backbone.head_sn") == "s1.b0.swm.l0.h → head_sn"
