"""report.json's energy numbers from energy.json's keys (one generation: the fp32 ANN counterpart, no chip view)."""

from __future__ import annotations

from pathlib import Path

from spikinghash.report.markdown import MEANINGS, render_markdown
from spikinghash.report.sources import HEADLINE, RunSources, details, headline

from .conftest import HW_SIM, energy_json, eval_json


def sources(tmp_path: Path) -> RunSources:
    return RunSources(tmp_path, {"eval": eval_json(0.8), "hw_sim": HW_SIM, "energy": energy_json(1000.0, 5000.0)})


def test_energy_headline_and_ratio_read_the_new_keys(tmp_path: Path) -> None:
    src = sources(tmp_path)
    head = headline(src, 0.8)
    assert set(head) == set(HEADLINE)
    assert (head["energy_pj_per_sample_float"], head["energy_pj_per_sample_ann_fp32"],
            head["energy_pj_per_sample_ann_int8"]) == (1000.0, 5000.0, 1250.0)
    assert head["break_even_rate"] == {"eq26": {"ann_fp32": 1.2}}
    more = details(src)
    assert more["energy_ratio_ann_over_float"] == 5.0  # 5000 pJ fp32 ANN / 1000 pJ float SNN
    assert not {"energy_pj_per_sample_hardware", "energy_pj_per_sample_ann"} & (set(head) | set(more))


def test_markdown_names_the_fp32_counterpart(tmp_path: Path) -> None:
    src = sources(tmp_path)
    md = render_markdown({**headline(src, 0.8), **details(src)}, tmp_path)
    assert "| `energy_pj_per_sample_ann_fp32` | 5000.0000 |" in md
    assert "fp32 ANN counterpart needs 5.0× the float SNN's energy" in md
    assert "energy_pj_per_sample_ann_fp32" in MEANINGS and "energy_pj_per_sample_ann" not in MEANINGS
