"""`spikinghash eval` / `search` on a tiny trained run: codes, metrics, index freshness, CLI errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from spikinghash.data.frames import FrameDataset
from spikinghash.data.registry import load_split
from spikinghash.errors import DataError
from spikinghash.pipeline.evaluate import evaluate_run, search_run
from spikinghash.pipeline.run_dir import load_run
from spikinghash.retrieval.codes import load_codes, unpack_codes
from spikinghash.retrieval.index import StaleIndexError
from spikinghash.train.config import LossConfig, TrainConfig
from spikinghash.train.trainer import train

TINY_DATA = {"digits_per_class": 3, "temporal_per_class": 3}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run")
    cfg = TrainConfig(model="transhash", data="dvs-digits", bits=12, T=4, epochs=2, batch_size=8, eval_every=1,
                      device="cpu", data_options=dict(TINY_DATA),
                      model_options={"dim": 16, "depth": 1, "heads": 2, "patch_size": 8}, loss=LossConfig())
    train(cfg, out, progress=False)
    return out


@pytest.fixture(scope="module")
def evaluated(run_dir: Path) -> dict:
    return evaluate_run(run_dir, precision_k=5, ndcg_n=5)


def test_stored_codes_are_the_models_codes(run_dir: Path, evaluated: dict) -> None:
    codes = load_codes(run_dir / "codes.npz")
    run = load_run(run_dir)
    split = load_split("dvs-digits", "query", **TINY_DATA)
    x = torch.stack([FrameDataset(split, 4)[i][0] for i in range(len(split))], dim=1)
    with torch.no_grad():
        direct = run.model.eval()(x).code.numpy().astype(np.uint8)
    np.testing.assert_array_equal(unpack_codes(codes.query_codes, codes.bits), direct)
    np.testing.assert_array_equal(codes.query_labels, split.labels)
    assert codes.bits == 12 and len(codes.db_codes) == len(load_split("dvs-digits", "database", **TINY_DATA))


def test_eval_json_holds_the_metrics_of_the_stored_codes(run_dir: Path, evaluated: dict) -> None:
    on_disk = json.loads((run_dir / "eval.json").read_text())
    assert on_disk == json.loads(json.dumps(evaluated))
    codes = load_codes(run_dir / "codes.npz")
    q, db = unpack_codes(codes.query_codes, 12), unpack_codes(codes.db_codes, 12)
    aps = []
    for i in range(len(q)):  # brute-force mAP@all, ties by database row
        d = [(int((q[i] != db[j]).sum()), j) for j in range(len(db))]
        rel = [codes.db_labels[j] == codes.query_labels[i] for _, j in sorted(d)]
        hits, total = 0, 0.0
        for r, ok in enumerate(rel, 1):
            if ok:
                hits += 1
                total += hits / r
        aps.append(total / hits if hits else 0.0)
    assert on_disk["map"] == pytest.approx(np.mean(aps), abs=1e-12)
    assert on_disk["map_k"] == len(db) and on_disk["similar_classes"] == [[10, 11], [12, 13], [14, 15]]
    assert len(on_disk["pr_curve"]["precision"]) == 13
    for png in ("pr_curve.png", "precision_at_k.png", "training_curves.png"):
        assert (run_dir / png).read_bytes()[:4] == b"\x89PNG"


def test_search_returns_true_nearest_neighbours(run_dir: Path, evaluated: dict) -> None:
    codes = load_codes(run_dir / "codes.npz")
    q, db = unpack_codes(codes.query_codes, 12), unpack_codes(codes.db_codes, 12)
    n = search_run(run_dir, "query", 3, k=5)
    want = sorted((int((q[3] != db[j]).sum()), j) for j in range(len(db)))[:5]
    assert list(zip(n.result.distances[0].tolist(), n.result.indices[0].tolist())) == want
    own = search_run(run_dir, "database", 2, k=len(db))
    assert n.self_excluded is False and own.self_excluded and 2 not in own.result.indices[0]
    assert own.result.indices.shape[1] == len(db) - 1


def test_changed_weights_make_the_index_stale(run_dir: Path, evaluated: dict, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    copy.mkdir()
    for f in run_dir.iterdir():
        if f.is_file():
            (copy / f.name).write_bytes(f.read_bytes())
    state = torch.load(copy / "checkpoint.pt", weights_only=True)
    name = next(iter(state["model"]))
    state["model"][name] = state["model"][name] + 1.0
    torch.save(state, copy / "checkpoint.pt")
    with pytest.raises(StaleIndexError, match="fingerprint"):
        search_run(copy, "query", 0, k=3)


def test_search_errors(run_dir: Path, evaluated: dict) -> None:
    with pytest.raises(DataError, match="out of range"):
        search_run(run_dir, "query", 10_000, k=3)
    with pytest.raises(DataError, match="query:INDEX or database:INDEX"):
        search_run(run_dir, "train", 0, k=3)


def test_cli_eval_search_and_errors(run_dir: Path, evaluated: dict, tmp_path: Path) -> None:
    env = {**os.environ}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "spikinghash.cli.main", *args], capture_output=True,
                              text=True, env=env, timeout=300)

    r = cli("search", str(run_dir), "--sample", "query:0", "-k", "3")
    assert r.returncode == 0, r.stderr
    assert len([ln for ln in r.stdout.splitlines() if ln.strip()[:1].isdigit()]) == 3
    for args, needle in ((["eval", str(tmp_path)], "not a training run"),
                         (["search", str(run_dir), "--sample", "query-0"], "SPLIT:INDEX"),
                         (["eval", str(run_dir), "--index", "lsh"], "unknown index kind")):
        r = cli(*args)
        assert r.returncode == 2 and "Traceback" not in r.stderr and needle in r.stderr, r.stderr


def test_cli_export_onnx_gives_the_runs_codes(run_dir: Path, evaluated: dict, tmp_path: Path) -> None:
    from spikinghash.export.onnx_export import run_onnx

    out = tmp_path / "m.onnx"
    r = subprocess.run([sys.executable, "-m", "spikinghash.cli.main", "export", "onnx", str(run_dir), "-o", str(out)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    run = load_run(run_dir)
    x = torch.stack([run.data.query[i][0] for i in range(5)], dim=1)
    with torch.no_grad():
        want = run.model(x)
    got = run_onnx(out, x.numpy())
    np.testing.assert_allclose(got.mem, want.mem.numpy(), atol=1e-5)
    clear = np.abs(want.mem.numpy()) > 1e-4  # bits whose sign no float rounding can flip
    assert clear.mean() > 0.9
    np.testing.assert_array_equal(got.code[clear], want.code.numpy().astype(np.uint8)[clear])
