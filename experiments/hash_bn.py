"""The hash-layer BatchNorm claim, measured: codes with and without BN, at initialisation and after one epoch.

The README justified the BN between the hash Linear and the hash neurons (a departure from
Eq. 18) with "without it every code starts all-zero, and the AND passes no gradient". Issue 17
found otherwise at initialisation on Spikinghash-S. This script measures, with ``hash_bn`` on
and off, per seed:

* ``ones``: share of code bits that are 1; ``distinct``: distinct codes among the samples;
* ``grad_path``: share of (sample, bit) pairs whose AND over T passes a gradient, i.e. whose
  hash neuron spikes in at least T - 1 of the T steps (d prod_t s_t / d s_u = prod_{t != u} s_t);
* ``rate``: mean spike rate of the hash neurons.

Settings:
1. the issue's check, at initialisation only: ``spikinghash_s`` (Table I), 64 bits, train mode
   (batch statistics), the first 32 images of the static ``digits`` train split repeated over T = 4;
2. dvs-digits (``digits_per_class=32, temporal_per_class=32``), the narrowed Ti
   (``claims_common.SMALL_TI``), 32 bits, T = 4: at initialisation (train mode on the first 32
   train samples, and eval mode on the query split), then after one training epoch (``task=hash``,
   the default Eq. 24 objective with the soft similarity, batch 16), on the query split in eval
   mode and in train mode, with the eval stage's mAP@all and accuracy.

Usage (about 4 minutes on one core):  nice -n 15 .venv/bin/python experiments/hash_bn.py
Writes experiments/results/hash_bn.json. ``--epochs 3 --name hash_bn_3ep`` trains longer (keys ``epoch3_*``).
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import claims_common as C  # noqa: I001  (sets OMP_NUM_THREADS before torch loads)
import torch
from torch import nn

from spikinghash.data.frames import FrameDataset, collate_time_major
from spikinghash.data.registry import load_split
from spikinghash.models import create_model
from spikinghash.pipeline.evaluate import evaluate_run
from spikinghash.pipeline.run_dir import load_run
from spikinghash.train.checkpoint import seed_everything
from spikinghash.train.config import TrainConfig
from spikinghash.train.trainer import RunData, build_model, load_data, train
from spikinghash.train.distributed import DistEnv

DATA = {"digits_per_class": 32, "temporal_per_class": 32}


@torch.no_grad()
def code_stats(model: nn.Module, x: torch.Tensor, train_mode: bool) -> dict[str, float]:
    """Statistics of the codes of ``x: [T, B, C, H, W]`` (see the module docstring); BN statistics restored."""
    saved = {k: v.clone() for k, v in model.state_dict().items()}
    spikes: list[torch.Tensor] = []
    hook = model.hash_head.sn.register_forward_hook(lambda m, i, out: spikes.append(out.spikes))
    model.train(train_mode)
    try:
        code = model(x).code
    finally:
        hook.remove()
        model.load_state_dict(saved)  # a train-mode forward moves the BN running statistics
        model.eval()
    s = spikes[0]  # [T, B, L]
    return {"ones": float(code.mean()), "distinct": int(torch.unique(code, dim=0).shape[0]), "samples": int(len(code)),
            "grad_path": float((s.sum(dim=0) >= s.shape[0] - 1).float().mean()), "rate": float(s.mean())}


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-key mean ± std over seeds of a list of flat stat dicts."""
    return {k: C.mean_std([float(r[k]) for r in runs]) for k in runs[0]}


def issue_check(seeds: list[int]) -> dict[str, Any]:
    """Setting 1: Spikinghash-S at initialisation on 32 static digit images, T = 4."""
    split = FrameDataset(load_split("digits", "train"), 4)
    x, _ = collate_time_major([split[i] for i in range(32)])
    out: dict[str, Any] = {}
    for bn in (True, False):
        runs = []
        for seed in seeds:
            torch.manual_seed(seed)
            model = create_model("spikinghash_s", in_channels=x.shape[2], img_size=32, T=4, bits=64,
                                 num_classes=10, hash_bn=bn)
            runs.append(code_stats(model, x, train_mode=True))
        out["bn" if bn else "no_bn"] = {"per_seed": runs, **summarize(runs)}
    return out


def dvs_run(bn: bool, seed: int, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    """Setting 2 for one seed: initialisation, ``args.epochs`` of training, and the eval stage."""
    cfg = TrainConfig(model="spikinghash_ti", data="dvs-digits", bits=32, T=4, epochs=args.epochs,
                      batch_size=args.batch, seed=seed, device="cpu", task="hash", eval_every=0, data_options=dict(DATA),
                      model_options={**C.SMALL_TI, "hash_bn": bn})
    data: RunData = load_data(dataclasses.replace(cfg, eval_every=1), DistEnv())  # query and database too
    x_train, _ = collate_time_major([data.train[i] for i in range(32)])
    x_query, _ = collate_time_major([data.query[i] for i in range(len(data.query))])
    seed_everything(seed)  # the trainer seeds the same way before it builds the model
    init = build_model(cfg, data)
    result: dict[str, Any] = {"init_train_mode": code_stats(init, x_train, True),
                              "init_eval_mode_query": code_stats(init, x_query, False)}
    shutil.rmtree(folder, ignore_errors=True)
    start = time.perf_counter()
    last = train(cfg, folder, progress=False)
    ev = evaluate_run(folder)
    trained, e = load_run(folder).model, f"epoch{args.epochs}"
    result.update({
        f"{e}_eval_mode_query": code_stats(trained, x_query, False),
        f"{e}_train_mode_query": code_stats(trained, x_query, True),
        f"{e}_map_all": ev["map"], f"{e}_accuracy_top1": ev["accuracy_top1"],
        f"{e}_train_loss": last["loss"], "wall_s": time.perf_counter() - start})
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=list(C.SEEDS))
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--epochs", type=int, default=1, help="training epochs before the second measurement [1]")
    p.add_argument("--name", default="hash_bn")
    p.add_argument("--runs", type=Path, default=Path(tempfile.gettempdir()) / "spikinghash_claims" / "hash_bn")
    args = p.parse_args()
    C.one_thread()
    t0 = time.perf_counter()
    issue = issue_check(args.seeds)
    for k, v in issue.items():
        print(f"spikinghash_s init {k}: ones {C.fmt(v['ones'], 100)} %, distinct {C.fmt(v['distinct'], 1)} of 32, "
              f"grad path {C.fmt(v['grad_path'], 100)} %", flush=True)
    dvs: dict[str, Any] = {}
    for bn in (True, False):
        runs = [dvs_run(bn, s, args, args.runs / f"{'bn' if bn else 'no_bn'}_s{s}") for s in args.seeds]
        stages = {k: summarize([r[k] for r in runs]) for k in runs[0] if isinstance(runs[0][k], dict)}
        scalars = {k: C.mean_std([r[k] for r in runs]) for k in runs[0] if not isinstance(runs[0][k], dict)}
        dvs["bn" if bn else "no_bn"] = {"per_seed": runs, **stages, **scalars}
        for stage, v in stages.items():
            print(f"dvs-digits ti {'bn' if bn else 'no_bn'} {stage}: ones {C.fmt(v['ones'])} %, distinct "
                  f"{C.fmt(v['distinct'], 1)} of {int(v['samples']['mean'])}, grad path {C.fmt(v['grad_path'])} %",
                  flush=True)
        e = f"epoch{args.epochs}"
        print(f"  after {args.epochs} epoch(s): mAP@all {C.fmt(scalars[f'{e}_map_all'])} %, "
              f"accuracy {C.fmt(scalars[f'{e}_accuracy_top1'])} %", flush=True)
    path = C.write_result(args.name, {
        "claim": "README: without the hash-layer BN every code starts all-zero and the AND passes no gradient",
        "seeds": args.seeds, "epochs": args.epochs,
        "spikinghash_s_init_digits": {"setting": "spikinghash_s, 64 bits, train mode, 32 digits train images, T=4",
                                      **issue},
        "dvs_digits_small_ti": {"setting": f"spikinghash_ti {C.SMALL_TI}, 32 bits, T=4, dvs-digits {DATA}, "
                                           f"task=hash (alpha 0.2, beta 0.8, soft similarity), batch {args.batch}, "
                                           f"{args.epochs} epoch(s), adamp 5e-3", **dvs},
        "wall_s": round(time.perf_counter() - t0, 1)})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
