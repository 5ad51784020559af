"""Table XII on dvs-digits: SWM vs all-SSA in the shallow stages, classification accuracy.

The paper (Sec. IV-E 2) trains Spikinghash-M and its all-SSA ablation as classifiers on CIFAR10
and Tiny-ImageNet. Here both are ``task=classify`` runs (L_cls alone, classifier on the pooled
features) on a small dvs-digits (``digits_per_class=32, temporal_per_class=32``: 16 classes,
416 train = database samples, 96 queries), through the ordinary pipeline: ``train`` then the
eval stage, whose ``eval.json`` holds ``accuracy_top1`` / ``accuracy_top5`` on the query split.
Each run is what these commands do:

  spikinghash train --model spikinghash_ti --data dvs-digits --bits 16 --out RUN task=classify T=4 \\
      epochs=3 batch_size=16 seed=S eval_every=0 data_options.digits_per_class=32 \\
      data_options.temporal_per_class=32 model_options.stem_dim=8 model_options.mlp_ratio=2.0 \\
      model_options.dwt_levels=1
  spikinghash eval RUN

The model is Spikinghash-Ti's layout, narrowed (``claims_common.SMALL_TI``), not M: a CPU budget
of about 20 minutes for every experiment together.

Usage (about 6 minutes on one core):
  nice -n 15 .venv/bin/python experiments/table12_swm_vs_ssa.py [--epochs 3]
Writes experiments/results/table12_swm_vs_ssa.json.

The paper's own settings (Spikinghash-M; need the datasets' files; the all-SSA variant is the
config's model with ``_allssa`` appended):
  python experiments/table12_swm_vs_ssa.py --config configs/paper_table_09_cifar10.yaml --root R --name table12_cifar10
  python experiments/table12_swm_vs_ssa.py --config configs/paper_table_10_tiny_imagenet.yaml --root R \
      --name table12_tiny_imagenet
"""

from __future__ import annotations

import dataclasses
import shutil
import time
from pathlib import Path
from typing import Any

import claims_common as C  # noqa: I001  (sets OMP_NUM_THREADS before torch loads)

from spikinghash.pipeline.evaluate import evaluate_run
from spikinghash.train.config import TrainConfig
from spikinghash.train.trainer import train

DATA = {"digits_per_class": 32, "temporal_per_class": 32}
#: The built-in setting (no --config): small dvs-digits, the narrowed Ti, 16 bits, T = 4, batch 16, 3 epochs.
BUILT_IN = TrainConfig(model="spikinghash_ti", data="dvs-digits", bits=16, T=4, epochs=3, batch_size=16, device="cpu",
                       data_options=dict(DATA), model_options=dict(C.SMALL_TI))


def variants(model: str) -> dict[str, str]:
    """The paper's model and its Table XII ablation."""
    return {"SWM": model, "all-SSA": f"{model}_allssa"}


def run_one(base: TrainConfig, model: str, seed: int, out: Path) -> dict[str, Any]:
    cfg = dataclasses.replace(base, model=model, seed=seed, task="classify", eval_every=0)
    shutil.rmtree(out, ignore_errors=True)  # a rerun starts afresh
    start = time.perf_counter()
    last = train(cfg, out, progress=False)
    ev = evaluate_run(out)
    return {"accuracy_top1": ev["accuracy_top1"], "accuracy_top5": ev["accuracy_top5"], "queries": ev["queries"],
            "train_accuracy": last["train_accuracy"], "wall_s": time.perf_counter() - start}


def main() -> None:
    p = C.claim_parser(__doc__.splitlines()[0], "table12_swm_vs_ssa", epochs=3)
    args = p.parse_args()
    C.one_thread()
    base = C.base_config(args, BUILT_IN)
    rows: dict[str, Any] = {}
    t0 = time.perf_counter()
    for variant, model in variants(str(base.model)).items():
        runs = [run_one(base, model, s, args.runs / f"{model}_s{s}") for s in args.seeds]
        rows[variant] = {"model": model, "queries": runs[0]["queries"],
                         **{k: C.mean_std([r[k] for r in runs]) for k in ("accuracy_top1", "accuracy_top5")},
                         "train_accuracy_last_epoch": C.mean_std([r["train_accuracy"] for r in runs]),
                         "wall_s": [round(r["wall_s"], 1) for r in runs]}
        print(f"{variant:<8} top-1 {C.fmt(rows[variant]['accuracy_top1'])} %, top-5 "
              f"{C.fmt(rows[variant]['accuracy_top5'])} % ({len(runs)} seeds, {sum(r['wall_s'] for r in runs):.0f} s)",
              flush=True)
    path = C.write_result(args.name, {
        "claim": "Table XII: SWM vs all-SSA in the shallow stages, classification accuracy",
        "metric": "top-1 / top-5 classification accuracy on the query split (eval.json)",
        "data": f"{base.data} {base.data_options}", "model": base.model, "model_options": base.model_options,
        "task": "classify", "bits": base.bits, "T": base.T, "epochs": base.epochs, "batch_size": base.batch_size,
        "optimizer": base.optimizer, "lr": base.lr, "seeds": args.seeds,
        "variants": rows, "wall_s": round(time.perf_counter() - t0, 1)})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
