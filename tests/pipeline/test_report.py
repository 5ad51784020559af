"""`build_report` on hand-made run folders: numbers carried, missing files named, figures, Fig. 4 and 5 data."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from spikinghash.errors import DataError
from spikinghash.pipeline.report import build_report, set_wall_seconds
from spikinghash.report.sources import HEADLINE

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from report.conftest import DB_BITS, DB_LABELS, SOFT, make_run  # noqa: E402  (the hand-made run folder of tests/report)
from report.test_similarity import brute_force  # noqa: E402


def test_numbers_are_carried_from_each_source(tmp_path: Path) -> None:
    run = make_run(tmp_path / "runs" / "a", map_value=0.8125)
    report = build_report(run, wall_seconds=321.5)
    saved = json.loads((run / "report.json").read_text())
    assert saved == report
    expected = {"map_float": 0.8125, "map_integer": 0.79, "hash_bit_agreement": 0.9375, "lava_samples": 3,
                "lava_fast_bit_exact": True, "energy_pj_per_sample_float": 1000.0,
                "energy_pj_per_sample_integer": 900.0, "energy_pj_per_sample_ann_fp32": 5000.0,
                "energy_pj_per_sample_band": {"low": 900.0, "high": 40000.0, "low_model": "eq26",
                                              "high_model": "loihi"},
                "energy_pj_per_sample_ann_int8": 1250.0, "break_even_rate": {"eq26": {"ann_fp32": 1.2}},
                # hw_sim.json measures firing rates; energy.json's copies (0.5, 0.4) are only a fallback
                "mean_firing_rate_float": 0.125, "mean_firing_rate_integer": 0.1171875, "wall_seconds": 321.5}
    assert {k: saved[k] for k in HEADLINE} == expected
    assert saved["missing"] == []
    assert (saved["bits"], saved["T"], saved["precision"], saved["ndcg"]) == (8, 4, 0.625, 0.75)
    assert saved["energy_ratio_ann_over_float"] == 5.0
    assert [(r["name"], r["rate_float"], r["rate_integer"]) for r in saved["layers"]] == [
        ("stem.sn", 0.2, 0.19), ("hash.sn", 0.05, 0.045)]
    # MAC/AC energy priced with energy.json's own per-operation figures: 100 MACs x 4.6 pJ, 20 ACs x 0.9 pJ
    hashes = {(r["name"], r["model"]): (r["mac_pj"], r["ac_pj"]) for r in saved["energy_layers"]}
    assert hashes[("stem", "float")] == pytest.approx((460.0, 0.0))
    assert hashes[("hash", "integer")] == pytest.approx((0.0, 18.0))
    for name in ("firing_rates", "energy_layers", "bubbles", "pr_curve", "similarity"):
        png = run / saved["figures"][name]
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (run / "report.md").read_text()
    assert "| `map_integer` | 0.7900 |" in md and "| `lava_fast_bit_exact` | yes |" in md
    assert "![similarity](report_similarity.png)" in md


def test_missing_sources_are_named_with_their_commands(tmp_path: Path) -> None:
    run = make_run(tmp_path / "b", hw_sim=False, energy=None)
    report = build_report(run)
    assert [m["file"] for m in report["missing"]] == ["hw_sim.json", "energy.json"]
    assert report["missing"][0]["command"] == f"spikinghash simulate {run} --backend fast"
    assert report["missing"][1]["command"] == f"spikinghash energy {run}"
    assert report["map_float"] == 0.8
    for key in HEADLINE[1:]:
        assert report[key] is None, key
    assert set(report["figures"]) == {"pr_curve", "similarity"}
    assert f"`energy.json`: run `spikinghash energy {run}`" in (run / "report.md").read_text()


def test_a_folder_with_no_result_file_is_a_user_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="run `spikinghash eval"):
        build_report(tmp_path / "empty")
    with pytest.raises(DataError, match="does not exist"):
        build_report(tmp_path / "nowhere")


def test_lava_mismatch_is_not_bit_exact(tmp_path: Path) -> None:
    run = make_run(tmp_path / "c")
    hw = json.loads((run / "hw_sim.json").read_text())
    hw["lava"].update(bit_exact=True, mismatched_spikes=2)  # a contradictory file: the count wins
    (run / "hw_sim.json").write_text(json.dumps(hw))
    assert build_report(run)["lava_fast_bit_exact"] is False


def test_map_at_all_is_recomputed_when_eval_used_a_cutoff(tmp_path: Path) -> None:
    run = make_run(tmp_path / "d")
    ev = json.loads((run / "eval.json").read_text())
    ev.update(map_k=1, map=0.123)
    (run / "eval.json").write_text(json.dumps(ev))
    # queries are database rows 0 and 1 (class 0); each ranks itself and the other at the top: AP = 1
    assert build_report(run)["map_float"] == 1.0


def test_bubble_chart_over_two_runs_and_a_run_without_energy(tmp_path: Path) -> None:
    folder = tmp_path / "runs"
    a = make_run(folder / "a", map_value=0.8, energy=(1000.0, 5000.0))
    make_run(folder / "b", map_value=0.6, energy=(300.0, 2000.0))
    make_run(folder / "c", energy=None)
    report = build_report(a)
    pts = {(p["run"], p["kind"]): (p["energy_pj"], p["map"]) for p in report["runs_compared"]}
    assert pts == {("a", "snn"): (1000.0, 0.8), ("a", "ann"): (5000.0, 0.8),
                   ("b", "snn"): (300.0, 0.6), ("b", "ann"): (2000.0, 0.6)}
    assert report["runs_without_energy"] == ["c"]
    assert (a / "report_bubbles.png").is_file()


def test_fig5_matrices_match_an_independent_computation(tmp_path: Path) -> None:
    run = make_run(tmp_path / "e")
    sims = build_report(run)["class_similarity"]
    names = list(sims)
    assert names[0].startswith("learned S_soft")
    np.testing.assert_array_equal(sims[names[0]], SOFT)
    def as_array(m: list) -> np.ndarray:  # report.json stores NaN (class 2 has one code) as null
        return np.array([[np.nan if v is None else v for v in row] for row in m])

    expected = brute_force(DB_BITS.tolist(), DB_LABELS.tolist(), 3)
    np.testing.assert_allclose(as_array(sims[names[1]]), expected, atol=1e-6)
    integer = DB_BITS.copy()
    integer[0, 7] = 1
    np.testing.assert_allclose(as_array(sims[names[2]]), brute_force(integer.tolist(), DB_LABELS.tolist(), 3),
                               atol=1e-6)
    # by hand: class 0 (11110000, 11100000) against class 1 (00001111, 00011111) differ in 8, 7, 7, 8 bits
    assert sims[names[1]][0][1] == pytest.approx(1 - (8 + 7 + 7 + 8) / 4 / 8)
    assert sims[names[1]][2][2] is None


def test_set_wall_seconds_rewrites_json_and_markdown(tmp_path: Path) -> None:
    run = make_run(tmp_path / "f")
    build_report(run, wall_seconds=1.0)
    set_wall_seconds(run, 480.04)
    assert json.loads((run / "report.json").read_text())["wall_seconds"] == 480.0
    assert "| `wall_seconds` | 480.0000 |" in (run / "report.md").read_text()
    assert build_report(run)["wall_seconds"] == 480.0  # a plain re-report keeps the pipeline's time


def test_a_qat_run_reports_its_sources_post_training_quantization(tmp_path: Path) -> None:
    source = make_run(tmp_path / "source")
    hw = json.loads((source / "hw_sim.json").read_text())
    hw.update(map_integer=0.5, hash_bit_agreement=0.9, map_float=0.6)
    (source / "hw_sim.json").write_text(json.dumps(hw))
    run = make_run(tmp_path / "qat")
    (run / "qat.json").write_text(json.dumps({"format": 1, "info": {"source": str(source)}}))
    report = build_report(run)
    assert report["deployed"] == "qat" and report["qat_source"] == str(source)
    assert (report["map_integer_ptq"], report["hash_bit_agreement_ptq"], report["map_float_ptq_source"]) == (0.5, 0.9, 0.6)
    assert report["map_integer"] == json.loads((run / "hw_sim.json").read_text())["map_integer"]
    assert "Post-training quantization of that source gave integer mAP 0.5000" in (run / "report.md").read_text()
    plain = build_report(source)  # a run that is not fine-tuned is its own post-training quantization
    assert plain["deployed"] == "ptq" and plain["map_integer_ptq"] == plain["map_integer"] == 0.5
