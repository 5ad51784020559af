"""Table XI on dvs-digits: 3D-SWM vs 2D-SWM, classification accuracy per temporal-order pair.

The paper (Sec. IV-E 1) trains Spikinghash-XL and its 2D-SWM ablation "for each action pair"
of HMDB51-DVS, i.e. one two-class classifier per pair, and compares test accuracy. dvs-digits'
temporal-order pairs (classes 10/11, 12/13, 14/15; ``data/motions.py``) hold the same events
in another order, so a pair can only be told apart by event order: the claim at its purest.

Per pair, variant and seed: a two-class ``task=classify`` run (L_cls alone, classifier on the
pooled features) on the pair's samples of the default dvs-digits (``train`` split, the first
``--train-per-class`` of each class), scored on all of the pair's ``query`` samples (40 per
class). The model is Spikinghash-Ti's layout, narrowed (``claims_common.SMALL_TI``), not XL:
a CPU budget of about 20 minutes for every experiment together.

Usage (about 8 minutes on one core):
  nice -n 15 .venv/bin/python experiments/table11_temporal_pairs.py [--epochs 6] [--train-per-class 48]
Writes experiments/results/table11_temporal_pairs.json; run folders go to --runs (a temporary folder).

The paper's own setting (Spikinghash-XL, HMDB51-DVS, 50 epochs; needs the dataset's files):
  python experiments/table11_temporal_pairs.py --config configs/paper_table_11_hmdb51_dvs.yaml --root R \
      --pair sit stand --pair catch shoot_ball --pair drink hug --pair hit climb --name table11_hmdb51_dvs
The 2D-SWM variant is the config's model with ``_2dswm`` appended.
"""

from __future__ import annotations

import dataclasses
import shutil
import time
from pathlib import Path
from typing import Any

import claims_common as C  # noqa: I001  (sets OMP_NUM_THREADS before torch loads)
import numpy as np
import torch

from spikinghash.data.frames import FrameDataset
from spikinghash.data.registry import load_split
from spikinghash.pipeline.evaluate import top_k_accuracy
from spikinghash.train.checkpoint import CHECKPOINT, load_checkpoint
from spikinghash.errors import ConfigError
from spikinghash.train.config import TrainConfig
from spikinghash.train.distributed import DistEnv
from spikinghash.train.encode import encode_outputs
from spikinghash.train.trainer import RunData, build_model, train

#: The built-in setting (no --config): dvs-digits, the narrowed Ti, 16 bits, T = 4, batch 16, 6 epochs.
BUILT_IN = TrainConfig(model="spikinghash_ti", data="dvs-digits", bits=16, T=4, epochs=6, batch_size=16, device="cpu",
                       model_options=dict(C.SMALL_TI))


class PairSplit:
    """The samples of two classes of a split, relabelled 0 (``pair[0]``) and 1 (``pair[1]``)."""

    def __init__(self, split: Any, pair: tuple[int, int], per_class: int | None = None) -> None:
        rows = np.sort(np.concatenate([np.flatnonzero(split.labels == c)[:per_class] for c in pair]))
        self._split, self._rows = split, rows
        self.info = dataclasses.replace(split.info, classes=tuple(split.info.classes[c] for c in pair),
                                        similar_classes=())
        self.labels = (split.labels[rows] == pair[1]).astype(np.int64)

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, i: int) -> tuple[np.ndarray, int]:
        events, _ = self._split[int(self._rows[i])]
        return events, int(self.labels[i])


def variants(model: str) -> dict[str, str]:
    """The paper's model and its Table XI ablation."""
    return {"3D-SWM": model, "2D-SWM": f"{model}_2dswm"}


def class_pairs(info: Any, names: list[list[str]] | None) -> list[tuple[int, int]]:
    """``--pair A B`` as label pairs, or the dataset's similar classes."""
    if not names:
        return [tuple(p) for p in info.similar_classes]  # type: ignore[misc]
    index = {name: i for i, name in enumerate(info.classes)}
    for name in (n for pair in names for n in pair):
        if name not in index:
            raise ConfigError(f"--pair: no class {name!r} in {info.name}; its classes: {', '.join(info.classes)}")
    return [(index[a], index[b]) for a, b in names]


def run_one(base: TrainConfig, model: str, seed: int, data: RunData, out: Path) -> dict[str, Any]:
    cfg = dataclasses.replace(base, model=model, seed=seed, task="classify", eval_every=0)
    shutil.rmtree(out, ignore_errors=True)  # a rerun starts afresh
    start = time.perf_counter()
    last = train(cfg, out, progress=False, data=data)
    net = build_model(cfg, data)
    net.load_state_dict(load_checkpoint(out / CHECKPOINT, keys=("model",))["model"])
    enc = encode_outputs(net, data.query, 64, torch.device("cpu"), DistEnv())  # type: ignore[arg-type]
    return {"accuracy": top_k_accuracy(enc.logits, enc.labels, 1), "train_accuracy": last["train_accuracy"],
            "wall_s": time.perf_counter() - start}


def main() -> None:
    p = C.claim_parser(__doc__.splitlines()[0], "table11_temporal_pairs", epochs=6)
    p.add_argument("--pair", nargs=2, action="append", metavar=("A", "B"),
                   help="class names of one pair (repeat) [the dataset's similar classes]")
    p.add_argument("--train-per-class", type=int, help="train samples per class [48 built in, else all]")
    args = p.parse_args()
    C.one_thread()
    base = C.base_config(args, BUILT_IN)
    per_class = args.train_per_class if args.train_per_class or args.config else 48
    load = {"root": base.data_root, **base.data_options}
    train_split, query_split = load_split(str(base.data), "train", **load), load_split(str(base.data), "query", **load)
    pairs = class_pairs(train_split.info, args.pair)
    rows: dict[str, Any] = {}
    t0 = time.perf_counter()
    for pair in pairs:
        names = train_split.info.classes
        key = f"{names[pair[0]]} & {names[pair[1]]}"
        tr, q = PairSplit(train_split, pair, per_class), PairSplit(query_split, pair)
        data = RunData(tr.info, 2, FrameDataset(tr, base.T), FrameDataset(q, base.T), None)  # type: ignore[arg-type]
        rows[key] = {"classes": list(pair), "train_samples": len(tr), "query_samples": len(q)}
        for variant, model in variants(str(base.model)).items():
            runs = [run_one(base, model, s, data, args.runs / f"{pair[0]}_{model}_s{s}") for s in args.seeds]
            rows[key][variant] = {"model": model, "accuracy": C.mean_std([r["accuracy"] for r in runs]),
                                  "train_accuracy_last_epoch": C.mean_std([r["train_accuracy"] for r in runs]),
                                  "wall_s": [round(r["wall_s"], 1) for r in runs]}
            print(f"{key:<28} {variant}: accuracy {C.fmt(rows[key][variant]['accuracy'])} % "
                  f"({len(runs)} seeds, {sum(r['wall_s'] for r in runs):.0f} s)", flush=True)
    path = C.write_result(args.name, {
        "claim": "Table XI: 3D-SWM vs 2D-SWM, classification accuracy per temporal-order pair (two-class runs)",
        "metric": "top-1 classification accuracy on the pair's query samples (chance 0.5)",
        "data": f"{base.data} {base.data_options or '(default settings)'}, "
                + ("the listed pairs" if args.pair else "its similar (temporal-order) pairs"),
        "model": base.model, "model_options": base.model_options, "task": "classify", "bits": base.bits,
        "T": base.T, "epochs": base.epochs, "batch_size": base.batch_size, "optimizer": base.optimizer, "lr": base.lr,
        "seeds": args.seeds,
        "train_per_class": per_class, "pairs": rows, "wall_s": round(time.perf_counter() - t0, 1)})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
