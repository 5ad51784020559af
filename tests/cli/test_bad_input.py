"""Bad input, as a demanding user meets it: every command, every artifact it reads, damaged.

One tiny trained run folder is built per module (every stage's artifacts: config, checkpoint,
codes, index, NIR, ONNX, hw_sim, energy, report) and copied per case. Each case damages the
copy (missing, empty, truncated, wrong-format, foreign or malicious files; out-of-range or
malformed arguments; output paths that cannot be written), runs the command in-process, and
asserts what the user is promised:

- exit status 2, exactly one ``error:`` line that names the file or argument and the fix,
  and no traceback;
- nothing that existed before is changed, replaced or lost, and nothing new is left behind
  (sha256, inode and mtime of every file in the case folder, before and after).

A few cases are repairs, not refusals (a corrupt ``model.nir`` in a run is exported again):
those exit 0 with one ``note:`` line saying what was replaced and why, and change only the
files that command writes. Case ids name the command and the damage; ``issue16-N`` marks the
failures of issue 16 (the eighth, SIGKILL mid-epoch then ``--resume``, needs real processes:
``tests/cli/test_kill.py::test_issue16_8_...``).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from spikinghash.cli.main import build_parser, main, parse
from spikinghash.errors import UserError

from .bad_inputs import (MARKER, TINY_CONFIG, Damage, bad_shape, both, cut, drop_T, empty_hdf5, inputs_npz,
                         malicious_pickle, malicious_torch, nir_edit, npz, object_npz, other_fingerprint, plain, rm,
                         stale_index, swap, torch_file, unknown_node, wrong_shapes, write)

@pytest.fixture(scope="module")
def base_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished tiny run folder: every stage ran once (about 15 s on one core)."""
    torch.set_num_threads(1)
    top = tmp_path_factory.mktemp("bad_input")
    config, run = top / "tiny.yaml", top / "run"
    config.write_text(TINY_CONFIG)
    for argv in (["train", "--config", str(config), "--out", str(run), "--quiet"], ["eval", str(run)],
                 ["export", "nir", str(run)], ["export", "onnx", str(run)],
                 ["simulate", str(run), "--calib", "4", "--limit", "2", "--quiet"],
                 ["energy", str(run), "--samples", "2", "--quiet"], ["report", str(run)]):
        assert main(argv) == 0, argv
    return run


# --- the catalogue --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """``argv``: the command (``{run}``: the run's copy, ``{tmp}``: the case folder, ``{file}``: a regular
    file there, ``{config}``: a tiny training config there). ``names``: what the error line must name;
    ``fix``: the fix it must give. ``status`` 0: a repair, with a ``note:`` line naming ``names`` and the
    fix text, that may change only ``writes`` (paths relative to the run)."""

    id: str
    argv: str
    names: tuple[str, ...]
    fix: str
    damage: Damage | None = None
    status: int = 2
    writes: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()  # a command path and option that must exist, e.g. ("simulate", "--data")


SIM = "simulate {run} --calib 4 --limit 2 --quiet"
SIM_WRITES = ("model.nir", "hw_sim.json", "hw_sim_codes.npz", "hw_sim_counts.npz", "hw_sim.png", "graph.json")
SEARCH = "search {run} --sample query:0 -k 5"
CKPT_TRUNCATED = cut("checkpoint.pt", 20_000)
TEXT = b"this is not that kind of file\n"
BINARY = bytes(range(256)) * 4
GRAPH_OPTION = ("simulate", "--data")
ENERGY_GRAPH = ("energy {tmp}/graph.nir --data dvs-digits -o digits_per_class=2 -o temporal_per_class=2 "
                "--out {tmp}/e --samples 2 --quiet")
INPUTS_SIM = "simulate {tmp}/graph.nir --inputs {tmp}/x.npz --out {tmp}/sim --T 2 --calib 4 --quiet"
GRAPH_SIM = "simulate {tmp}/graph.nir --data dvs-digits -o digits_per_class=2 -o temporal_per_class=2 " \
            "--out {tmp}/sim --calib 4 --limit 2 --quiet"

CASES = [
    # issue 16's eight failures
    Case("issue16-1-search-checkpoint-truncated-20000", SEARCH, ("checkpoint.pt", "truncated"), "train the run again",
         CKPT_TRUNCATED),
    Case("issue16-2-train-out-under-a-file", "train --config {config} --out {file}/sub --quiet", ("afile",),
         "choose another path"),
    Case("issue16-2-export-onnx-output-under-a-file", "export onnx {run} -o {file}/sub/m.onnx", ("afile",),
         "choose another path"),
    Case("issue16-3-checkpoint-malicious-pickle", "eval {run}", ("checkpoint.pt", "refused for safety"),
         "use a checkpoint you trained yourself", malicious_pickle),
    Case("issue16-4-eval-map-k-0", "eval {run} --map-k 0", ("--map-k",), "positive integer or 'all'"),
    Case("issue16-4-eval-map-k-minus-5", "eval {run} --map-k -5", ("--map-k",), "positive integer or 'all'"),
    Case("issue16-5-simulate-model-nir-text", SIM, ("model.nir", "cannot be read"), "exported again",
         write("model.nir", TEXT), status=0, writes=SIM_WRITES),
    Case("issue16-5-simulate-model-nir-empty-hdf5", SIM, ("model.nir", "cannot be read"), "exported again",
         empty_hdf5("model.nir"), status=0, writes=SIM_WRITES),
    Case("issue16-6-eval-config-but-no-checkpoint", "eval {run}", ("checkpoint.pt", "config.yaml"),
         "train it first", rm("checkpoint.pt")),
    Case("issue16-7-train-override-after-option", "train --config {config} epochs=1 --bits 32 T=0 --out {tmp}/new "
         "--quiet", ("T=0",), "from 1 to 1024"),
    # config.yaml
    Case("eval-config-missing", "eval {run}", ("config.yaml",), "train one", rm("config.yaml")),
    Case("eval-config-empty", "eval {run}", ("config.yaml", "lacks"), "restore it, or train the run again", write("config.yaml", b"")),
    Case("eval-config-truncated", "eval {run}", ("config.yaml",), "restore it, or train the run again", cut("config.yaml", 0.6)),
    Case("eval-config-binary", "eval {run}", ("config.yaml", "not text"), "restore it, or train the run again", write("config.yaml", BINARY)),
    Case("eval-config-a-list", "eval {run}", ("config.yaml", "mapping"), "restore it, or train the run again", write("config.yaml", b"- a\n- b\n")),
    Case("eval-config-bad-yaml", "eval {run}", ("config.yaml", "does not parse"), "restore it, or train the run again",
         write("config.yaml", b"model: [unclosed\n")),
    Case("eval-config-foreign-model", "eval {run}", ("checkpoint.pt", "does not fit"), "train the run again",
         lambda run, tmp: (run / "config.yaml").write_text(
             (run / "config.yaml").read_text().replace("stem_dim: 4", "stem_dim: 6"))),
    Case("simulate-config-binary", SIM, ("config.yaml",), "restore it, or train the run again", write("config.yaml", BINARY)),
    Case("train-config-missing", "train --config {tmp}/nope.yaml --out {tmp}/new --quiet", ("nope.yaml",),
         "check the path"),
    Case("train-config-binary", "train --config {tmp}/bin.yaml --out {tmp}/new --quiet", ("bin.yaml", "not text"), "give a settings file",
         plain("bin.yaml", BINARY)),
    Case("train-config-wrong-suffix", "train --config {tmp}/c.txt --out {tmp}/new --quiet", ("c.txt", ".yaml"),
         "rename it", plain("c.txt", TINY_CONFIG.encode())),
    Case("train-config-unknown-key", "train --config {tmp}/c.yaml --out {tmp}/new --quiet", ("bogus",), "known settings",
         plain("c.yaml", (TINY_CONFIG + "bogus: 1\n").encode())),
    # checkpoint.pt
    Case("eval-checkpoint-truncated-half", "eval {run}", ("checkpoint.pt", "truncated"), "train the run again",
         cut("checkpoint.pt", 0.5)),
    Case("eval-checkpoint-empty", "eval {run}", ("checkpoint.pt",), "train the run again",
         write("checkpoint.pt", b"")),
    Case("eval-checkpoint-text", "eval {run}", ("checkpoint.pt",), "train the run again",
         write("checkpoint.pt", TEXT)),
    Case("eval-checkpoint-malicious-torch-zip", "eval {run}", ("checkpoint.pt", "refused for safety"),
         "use a checkpoint you trained yourself", malicious_torch),
    Case("eval-checkpoint-foreign-tensor", "eval {run}", ("checkpoint.pt",), "train the run again",
         torch_file(lambda s: torch.zeros(3))),
    Case("eval-checkpoint-no-weights", "eval {run}", ("checkpoint.pt", "lacks model"), "train the run again",
         torch_file(lambda s: {"format": 1, "epoch": 1})),
    Case("eval-checkpoint-wrong-shapes", "eval {run}", ("checkpoint.pt", "does not fit"), "train the run again",
         torch_file(wrong_shapes)),
    Case("truncated-checkpoint-prev-offered", "eval {run}", ("checkpoint.pt", "truncated"),
         "resume from", both(lambda run, tmp: shutil.copy(run / "checkpoint.pt", run / "checkpoint.prev.pt"),
                             CKPT_TRUNCATED)),
    Case("train-resume-checkpoint-truncated", "train --out {run} --resume --quiet", ("checkpoint.pt", "truncated"),
         "train the run again", CKPT_TRUNCATED),
    Case("train-resume-checkpoint-malicious", "train --out {run} --resume --quiet",
         ("checkpoint.pt", "refused for safety"), "use a checkpoint you trained yourself", malicious_pickle),
    Case("train-resume-no-checkpoint", "train --out {tmp}/new --config {config} --resume --quiet",
         ("checkpoint.pt",), "without --resume"),
    Case("train-into-a-finished-run", "train --out {run} --config {config} --quiet", ("checkpoint.pt",),
         "--resume"),
    Case("export-nir-checkpoint-truncated", "export nir {run}", ("checkpoint.pt",), "train the run again",
         CKPT_TRUNCATED),
    Case("export-onnx-checkpoint-truncated", "export onnx {run}", ("checkpoint.pt",), "train the run again",
         CKPT_TRUNCATED),
    Case("simulate-checkpoint-truncated", SIM, ("checkpoint.pt",), "train the run again", CKPT_TRUNCATED),
    Case("energy-checkpoint-truncated", "energy {run} --samples 2 --quiet", ("checkpoint.pt",),
         "train the run again", CKPT_TRUNCATED),
    Case("qat-source-checkpoint-truncated", "qat {run} --out {tmp}/q --epochs 1 --calib 4 --quiet",
         ("checkpoint.pt",), "train the run again", CKPT_TRUNCATED),
    Case("report-checkpoint-truncated", "report {run}", ("checkpoint.pt",), "train the run again", CKPT_TRUNCATED),
    # qat.json, metrics.jsonl
    Case("eval-qat-json-garbage", "eval {run}", ("qat.json",), "run `spikinghash qat` again",
         write("qat.json", TEXT)),
    Case("eval-qat-json-binary", "eval {run}", ("qat.json",), "run `spikinghash qat` again",
         write("qat.json", BINARY)),
    Case("eval-metrics-jsonl-garbage", "eval {run}", ("metrics.jsonl",), "delete it", write("metrics.jsonl", BINARY)),
    Case("qat-resume-without-qat-json", "qat {run} --out {tmp}/q --resume --quiet", ("qat.json",),
         "without --resume"),
    # codes.npz, index.npz
    Case("search-codes-missing", SEARCH, ("codes.npz",), "spikinghash eval", rm("codes.npz")),
    Case("search-codes-empty", SEARCH, ("codes.npz",), "write it again", write("codes.npz", b"")),
    Case("search-codes-truncated", SEARCH, ("codes.npz",), "write it again", cut("codes.npz", 0.5)),
    Case("search-codes-text", SEARCH, ("codes.npz",), "write it again", write("codes.npz", TEXT)),
    Case("search-codes-foreign", SEARCH, ("codes.npz",), "write it again", swap("codes.npz", "hw_sim_counts.npz")),
    Case("search-codes-pickled-objects", SEARCH, ("codes.npz",), "write it again", object_npz("codes.npz")),
    Case("search-index-missing", SEARCH, ("index.npz",), "spikinghash eval", rm("index.npz")),
    Case("search-index-truncated", SEARCH, ("index.npz",), "write it again", cut("index.npz", 0.5)),
    Case("search-index-stale", SEARCH, ("index.npz", "fingerprint"), "build the index again", stale_index),
    Case("search-index-foreign", SEARCH, ("index.npz",), "write it again", swap("index.npz", "codes.npz")),
    Case("search-index-pickled-objects", SEARCH, ("index.npz",), "write it again", object_npz("index.npz")),
    Case("report-codes-truncated", "report {run}", ("codes.npz",), "write it again", cut("codes.npz", 0.5)),
    Case("report-hw-sim-codes-foreign", "report {run}", ("hw_sim_codes.npz",), "write it again",
         npz("hw_sim_codes.npz", x=np.zeros(3))),
    # hw_sim*, energy.json, report.json, eval.json
    Case("report-hw-sim-json-truncated", "report {run}", ("hw_sim.json",), "run the command that writes it",
         cut("hw_sim.json", 0.5)),
    Case("report-hw-sim-json-binary", "report {run}", ("hw_sim.json",), "run the command that writes it",
         write("hw_sim.json", BINARY)),
    Case("report-hw-sim-json-a-list", "report {run}", ("hw_sim.json",), "write it again",
         write("hw_sim.json", b"[1, 2]\n")),
    Case("report-energy-json-truncated", "report {run}", ("energy.json",), "run the command that writes it",
         cut("energy.json", 0.3)),
    Case("report-energy-json-binary", "report {run}", ("energy.json",), "run the command that writes it",
         write("energy.json", BINARY)),
    Case("report-eval-json-empty", "report {run}", ("eval.json",), "run the command that writes it",
         write("eval.json", b"")),
    Case("report-report-json-garbage", "report {run}", ("report.json",), "run the command that writes it",
         write("report.json", TEXT)),
    Case("energy-hw-sim-counts-truncated", "energy {run} --samples 2 --quiet", ("hw_sim_counts.npz",), "write it again",
         cut("hw_sim_counts.npz", 0.5)),
    Case("energy-hw-sim-counts-text", "energy {run} --samples 2 --quiet", ("hw_sim_counts.npz",), "write it again",
         write("hw_sim_counts.npz", TEXT)),
    # model.nir in the run, and NIR files from elsewhere
    Case("simulate-model-nir-truncated", SIM, ("model.nir", "cannot be read"), "exported again",
         cut("model.nir", 0.5), status=0, writes=SIM_WRITES),
    Case("simulate-model-nir-stale", SIM, ("model.nir", "other weights"), "exported again",
         nir_edit(other_fingerprint, dst="run/model.nir"), status=0, writes=SIM_WRITES),
    Case("simulate-graph-unknown-node-type", GRAPH_SIM, ("graph.nir",), "re-export",
         nir_edit(unknown_node), requires=GRAPH_OPTION),
    Case("simulate-graph-mismatched-shapes", GRAPH_SIM, ("graph.nir", "hash_head.linear"), "agree",
         nir_edit(bad_shape),
         requires=GRAPH_OPTION),
    Case("simulate-graph-missing-T", GRAPH_SIM, ("graph.nir", "T"), "--T", nir_edit(drop_T),
         requires=GRAPH_OPTION),
    Case("simulate-graph-text-file", GRAPH_SIM, ("graph.nir",), "write it with nir.write", plain("graph.nir", TEXT),
         requires=GRAPH_OPTION),
    Case("simulate-graph-empty-hdf5", GRAPH_SIM, ("graph.nir",), "re-export",
         lambda run, tmp: h5py.File(tmp / "graph.nir", "w").close(), requires=GRAPH_OPTION),
    Case("simulate-graph-missing", GRAPH_SIM, ("graph.nir",), "does not exist; give a run folder", requires=GRAPH_OPTION),
    Case("energy-graph-text-file", ENERGY_GRAPH, ("graph.nir",), "write it with nir.write", plain("graph.nir", TEXT),
         requires=("energy", "--data")),
    Case("simulate-graph-out-under-a-file", GRAPH_SIM.replace("{tmp}/sim", "{file}/sim"), ("afile",),
         "choose another path", nir_edit(lambda f: None), requires=GRAPH_OPTION),
    Case("simulate-graph-data-unknown", GRAPH_SIM.replace("dvs-digits", "nodata"), ("nodata",),
         "spikinghash data list", nir_edit(lambda f: None), requires=GRAPH_OPTION),
    Case("energy-graph-unknown-node-type", ENERGY_GRAPH, ("graph.nir",), "re-export", nir_edit(unknown_node),
         requires=("energy", "--data")),
    Case("energy-graph-missing-T", ENERGY_GRAPH, ("graph.nir", "T"), "--T", nir_edit(drop_T),
         requires=("energy", "--data")),
    Case("energy-graph-out-under-a-file", ENERGY_GRAPH.replace("{tmp}/e", "{file}/e"), ("afile",),
         "choose another path", nir_edit(lambda f: None), requires=("energy", "--data")),
    Case("simulate-graph-inputs-wrong-keys", INPUTS_SIM, ("x.npz", "holds keys ['images']"), "write it with np.savez",
         both(nir_edit(lambda f: None), inputs_npz(images=np.zeros((2, 2, 32, 32)))), requires=("simulate", "--inputs")),
    Case("simulate-graph-inputs-pickled-objects", INPUTS_SIM, ("x.npz",), "store plain numeric arrays",
         both(nir_edit(lambda f: None), inputs_npz(frames=np.array([{"x": 1}], dtype=object))),
         requires=("simulate", "--inputs")),
    Case("simulate-graph-inputs-wrong-shape", INPUTS_SIM, ("takes input of shape [2, 32, 32] per step",),
         "use a graph made for this data", both(nir_edit(lambda f: None),
                                                inputs_npz(frames=np.zeros((2, 2, 2, 16, 16)), labels=np.zeros(2))),
         requires=("simulate", "--inputs")),
    Case("simulate-graph-inputs-and-data", INPUTS_SIM + " --data dvs-digits", ("--data", "--inputs"), "not both",
         nir_edit(lambda f: None), requires=("simulate", "--inputs")),
    Case("export-netx-checkpoint-truncated", "export netx {run}", ("checkpoint.pt",), "train the run again",
         CKPT_TRUNCATED, requires=("export", "netx")),
    Case("export-netx-output-under-a-file", "export netx {run} -o {file}/m.net", ("afile",), "choose another path",
         requires=("export", "netx")),
    Case("export-netx-graph-missing-T", "export netx {tmp}/graph.nir --data dvs-digits -o {tmp}/m.net",
         ("graph.nir", "T"), "--T", nir_edit(drop_T), requires=("export", "netx")),
    Case("export-nir-snntorch-module-missing", "export nir --snntorch nosuch_pkg.mod:make --input-shape 2,32,32 "
         "-o {tmp}/m.nir", ("nosuch_pkg",), "install it", requires=("export", "nir", "--snntorch")),
    # arguments out of range or malformed
    Case("eval-map-k-not-a-number", "eval {run} --map-k abc", ("--map-k",), "--help"),
    Case("eval-precision-k-0", "eval {run} --precision-k 0", ("--precision-k",), "positive integer or 'all'"),
    Case("eval-ndcg-n-minus-1", "eval {run} --ndcg-n -1", ("--ndcg-n",), "positive integer or 'all'"),
    Case("eval-ties-unknown", "eval {run} --ties coin", ("--ties", "coin"), "choose one of"),
    Case("eval-index-unknown", "eval {run} --index lsh", ("lsh",), "choose one of"),
    Case("eval-run-missing", "eval {tmp}/nowhere", ("nowhere",), "train one"),
    Case("eval-run-is-a-file", "eval {file}", ("afile",), "choose another path"),
    Case("search-k-0", "search {run} --sample query:0 -k 0", ("-k",), "at least 1"),
    Case("search-sample-malformed", "search {run} --sample zero", ("--sample",), "query:0"),
    Case("search-sample-out-of-range", "search {run} --sample query:999", ("query:999",), "0.."),
    Case("search-sample-unknown-split", "search {run} --sample train:0", ("train",), "query:INDEX"),
    Case("simulate-calib-0", "simulate {run} --calib 0 --quiet", ("--calib",), "at least 1"),
    Case("simulate-limit-0", "simulate {run} --limit 0 --quiet", ("--limit",), "at least 1"),
    Case("simulate-samples-0", "simulate {run} --backend lava --samples 0", ("--samples",), "at least 1"),
    Case("simulate-batch-size-0", "simulate {run} --batch-size 0 --quiet", ("--batch-size",), "at least 1"),
    Case("simulate-threads-0", "simulate {run} --threads 0 --quiet", ("--threads",), "at least 1"),
    Case("simulate-backend-unknown", "simulate {run} --backend gpu", ("--backend", "gpu"), "--help"),
    Case("energy-samples-0", "energy {run} --samples 0 --quiet", ("--samples",), "at least 1"),
    Case("export-onnx-opset-99", "export onnx {run} --opset 99", ("opset", "99"), "use one of"),
    Case("export-onnx-output-is-a-folder", "export onnx {run} -o {tmp}", ("is a folder",), "give the path of a file"),
    Case("export-nir-output-under-a-file", "export nir {run} -o {file}/m.nir", ("afile",), "choose another path"),
    Case("qat-epochs-0", "qat {run} --out {tmp}/q --epochs 0 --quiet", ("--epochs",), "at least 1"),
    Case("qat-lr-0", "qat {run} --out {tmp}/q --lr 0 --quiet", ("--lr",), "positive"),
    Case("qat-calib-0", "qat {run} --out {tmp}/q --calib 0 --quiet", ("--calib",), "at least 1"),
    Case("qat-out-is-the-source", "qat {run} --out {run} --quiet", ("--out",), "new folder"),
    Case("qat-out-under-a-file", "qat {run} --out {file}/q --quiet", ("afile",), "choose another path"),
    Case("train-bits-0", "train --config {config} --bits 0 --out {tmp}/new --quiet", ("bits=0",), "e.g. --bits 64"),
    Case("train-override-malformed", "train --config {config} --out {tmp}/new =1 --quiet", ("=1",), "KEY=VALUE"),
    Case("train-override-unknown-key", "train --config {config} --out {tmp}/new colour=red --quiet",
         ("colour",), "known settings"),
    Case("train-epochs-minus-1", "train --config {config} --out {tmp}/new epochs=-1 --quiet", ("epochs=-1",), "at least 1 epoch"),
    Case("train-model-unknown", "train --config {config} --model nonet --out {tmp}/new --quiet", ("nonet",), "choose one of"),
    Case("train-data-unknown", "train --config {config} --data nodata --out {tmp}/new --quiet", ("nodata",),
         "spikinghash data list"),
    Case("train-out-missing", "train --config {config} --quiet", ("--out",), "--help"),
    Case("option-unknown", "eval {run} --fast", ("--fast",), "--help"),
    Case("override-for-a-command-without-settings", "eval {run} epochs=1", ("epochs=1",), "`train`'s only"),
    Case("command-unknown", "evaluate {run}", ("evaluate",), "--help"),
    Case("report-run-missing", "report {tmp}/nowhere", ("nowhere",), "spikinghash train"),
    Case("report-runs-is-a-file", "report {run} --runs {file}", ("--runs", "afile"), "give the folder"),
    Case("demo-lava-samples-0", "demo --out {tmp}/demo --lava-samples 0", ("--lava-samples",), "at least 1"),
    Case("demo-json-garbage", "demo --out {run}", ("demo.json",), "delete it", write("demo.json", TEXT)),
    Case("demo-out-under-a-file", "demo --out {file}/demo", ("afile",), "choose another path"),
    Case("demo-config-missing", "demo --out {tmp}/demo --config {tmp}/nope.yaml", ("nope.yaml",), "check the path"),
    Case("demo-config-bad-yaml", "demo --out {tmp}/demo --config {tmp}/bad.yaml", ("bad.yaml",), "fix its syntax",
         plain("bad.yaml", b"epochs: [1\n")),
    # data
    Case("data-generate-unknown", "data generate nodata", ("nodata",), "spikinghash data list"),
    Case("data-generate-option-malformed", "data generate dvs-digits -o seed", ("seed",), "-o seed=1"),
    Case("data-inspect-T-0", "data inspect dvs-digits -T 0", ("T=0",), "from 1 to 1024"),
    Case("data-inspect-split-unknown", "data inspect dvs-digits --split dev", ("dev",), "choose one of"),
    Case("data-inspect-out-under-a-file", "data inspect dvs-digits -o digits_per_class=2 -o temporal_per_class=2 "
         "--out {file}/x.png", ("afile",), "choose another path"),
    Case("data-inspect-json-under-a-file", "data inspect dvs-digits -o digits_per_class=2 -o temporal_per_class=2 "
         "--out {tmp}/x.png --json {file}/x.json", ("afile",), "choose another path"),
    Case("data-nmnist-root-missing", "data inspect nmnist --root {tmp}/nowhere", ("nowhere",), "pass --root"),
    Case("data-nmnist-event-file-truncated", "data inspect nmnist --root {tmp}/nm --out {tmp}/x.png", ("1.bin",),
         "extract it again", both(*(plain(f"nm/{split}/{d}/{i}.bin", bytes(range(7)) if i == 1 else bytes(5 * 4))
                    for split in ("Train", "Test") for d in range(10) for i in (0, 1)))),
]


def _exists(path: tuple[str, ...]) -> bool:
    """Whether the command line ``path`` (commands, then maybe an option) exists, e.g. ``("energy", "--data")``:
    the NIR-file commands are being added while this catalogue grows."""
    parser = build_parser()
    for word in path:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if word.startswith("-"):
            return any(word in a.option_strings for a in parser._actions)
        if not subs or word not in subs[0].choices:
            return False
        parser = subs[0].choices[word]
    return True


def _snapshot(folder: Path) -> dict[str, tuple[str, int, int]]:
    """Every file under ``folder``: sha256, inode and mtime (a rewrite with the same bytes still shows)."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            st = p.stat()
            out[str(p.relative_to(folder))] = (hashlib.sha256(p.read_bytes()).hexdigest(), st.st_ino, st.st_mtime_ns)
    return out


def test_catalogue_is_large_and_covers_every_command() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)) >= 60
    commands = {c.argv.split()[0] + (" " + c.argv.split()[1] if c.argv.split()[0] in ("export", "data") else "")
                for c in CASES}
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    for name in sub.choices:
        assert any(c == name or c.startswith(name + " ") for c in commands), name
    assert {"export nir", "export onnx", "export netx"} <= commands
    assert sum(c.id.startswith("issue16-") for c in CASES) >= 8


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, base_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    if case.requires and not _exists(case.requires):
        pytest.skip(f"`spikinghash {' '.join(case.requires)}` does not exist yet")
    run = tmp_path / "run"
    shutil.copytree(base_run, run)
    (tmp_path / "afile").write_text("a regular file\n")
    (tmp_path / "tiny.yaml").write_text(TINY_CONFIG)
    if case.damage is not None:
        case.damage(run, tmp_path)
    before = _snapshot(tmp_path)
    argv = [a.format(run=run, tmp=tmp_path, file=tmp_path / "afile", config=tmp_path / "tiny.yaml")
            for a in case.argv.split()]
    capsys.readouterr()
    start = time.perf_counter()
    status = main(argv)
    seconds = time.perf_counter() - start
    err = capsys.readouterr().err
    if os.environ.get("SHOW_ERRORS"):
        with open("/tmp/h16/errors.txt", "a") as fh:
            fh.write(f"{case.id} [{status}] {seconds:.1f}s: {err.strip()[-600:]}\n")
    after = _snapshot(tmp_path)
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    notes = [line for line in err.splitlines() if line.startswith("note:")]
    assert "Traceback" not in err, err
    assert status == case.status, err
    assert not (tmp_path / MARKER).exists(), "a file's payload ran"
    assert case.fix, "every case names the fix it expects"
    if case.status == 2:
        assert len(errors) == 1 and not notes, err
        line = errors[0]
        for name in case.names:
            assert name in line, line
        assert case.fix in line, line
        assert after == before, f"files changed: {sorted(set(before.items()) ^ set(after.items()))}"
        assert seconds < 20, f"refused only after {seconds:.1f} s of work"
    else:
        assert not errors and len(notes) == 1, err
        for name in (*case.names, case.fix):
            assert name in notes[0], notes[0]
        kept = {k: v for k, v in before.items() if not k.startswith("run/") or k[4:] not in case.writes}
        assert {k: after.get(k) for k in kept} == kept
        assert not [k for k in after if ".tmp" in k]


def test_overrides_after_options_are_taken() -> None:
    args = parse(["train", "--config", "c.yaml", "epochs=1", "--bits", "32", "T=4", "--out", "R", "lr=0.1"])
    assert args.overrides == ["epochs=1", "T=4", "lr=0.1"] and args.bits == 32 and str(args.out) == "R"


def test_unexpected_errors_give_one_line_and_debug_the_traceback(monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture) -> None:
    import spikinghash.cli.data_cmd as data_cmd

    def broken(args: object) -> int:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(data_cmd, "cmd_list", broken)
    assert main(["data", "list"]) == 1
    err = capsys.readouterr().err
    assert err == "error: internal error (ZeroDivisionError: a bug); report this with --debug for the traceback\n"
    assert main(["data", "list", "--debug"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Traceback") and err.count("error:") == 1 and "ZeroDivisionError: a bug" in err


def test_os_and_decode_errors_name_the_file(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    import spikinghash.cli.data_cmd as data_cmd

    raised: list[BaseException] = [PermissionError(13, "Permission denied", "/x/y.npz"),
                                   zipfile.BadZipFile("File is not a zip file"), UserError("plain; fix it")]

    def failing(args: object) -> int:
        raise raised.pop(0)

    monkeypatch.setattr(data_cmd, "cmd_list", failing)
    assert main(["data", "list"]) == 2
    assert capsys.readouterr().err == "error: /x/y.npz: Permission denied; check its permissions, or choose a " \
                                      "path you can read/write\n"
    assert main(["data", "list"]) == 2
    assert capsys.readouterr().err.startswith("error: an input file could not be decoded (BadZipFile")
    assert main(["data", "list"]) == 2
    assert capsys.readouterr().err == "error: plain; fix it\n"
