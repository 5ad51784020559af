"""``spikinghash train --model NAME --data NAME --bits L [--config FILE] [KEY=VALUE ...] --out RUN_DIR``."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a hashing model (one process, or several under torchrun)",
                       description="Settings: defaults < --config file < flags < KEY=VALUE overrides "
                                   "(e.g. lr=0.001 epochs=50 loss.tau=0.4 data_options.seed=1).")
    p.add_argument("--model", help="registered model name, e.g. spikinghash_ti")
    p.add_argument("--data", help="dataset name (see `spikinghash data list`)")
    p.add_argument("--bits", type=int, help="hash code length L")
    p.add_argument("--root", help="folder holding a real dataset's files")
    p.add_argument("--config", type=Path, help="YAML or TOML file of settings")
    p.add_argument("--out", type=Path, required=True, help="run folder for config, metrics and checkpoints")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    p.add_argument("--quiet", action="store_true", help="no progress bar or per-epoch lines")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="setting overrides")
    p.set_defaults(func=cmd_train)


def cmd_train(args: argparse.Namespace) -> int:
    from spikinghash.pipeline.run_dir import CHECKPOINT, CONFIG, METRICS
    from spikinghash.pipeline.train import is_main_process, train_config, train_run

    flags = {"model": args.model, "data": args.data, "bits": args.bits, "data_root": args.root}
    cfg = train_config(args.out, args.config, flags, args.overrides, args.resume)
    last = train_run(cfg, args.out, resume=args.resume, progress=not args.quiet)
    if not is_main_process():  # under torchrun, one process reports
        return 0
    done = f"epoch {last['epoch']}/{cfg.epochs} trained" if last is not None else "nothing left to train"
    print(f"{done}; wrote {args.out / CHECKPOINT}, {args.out / METRICS}, {args.out / CONFIG}")
    return 0
