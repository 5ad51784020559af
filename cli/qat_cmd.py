"""``spikinghash qat RUN_DIR --out QAT_DIR [--epochs 2] [--lr 1e-3] [--calib 256] [--resume]``."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("qat", help="quantization-aware fine-tuning of a neuromorphic-profile run",
                       description="Calibrates RUN_DIR's integer grid once (as `simulate` does), then fine-tunes a "
                                   "copy with every weight, bias and threshold fake-quantized on that grid. "
                                   "`simulate QAT_DIR` then quantizes with exactly those scales.")
    p.add_argument("run_dir", type=Path, help="trained neuromorphic-profile run (the source)")
    p.add_argument("--out", type=Path, required=True, help="new run folder for the fine-tuned model")
    p.add_argument("--epochs", type=int, default=2, help="fine-tuning epochs [2]")
    p.add_argument("--lr", type=float, default=1e-3, help="peak learning rate (cosine decay) [1e-3]")
    p.add_argument("--calib", type=int, default=256, help="training samples for calibration [256]")
    p.add_argument("--resume", action="store_true", help="continue the fine-tuning in --out from its checkpoint")
    p.add_argument("--quiet", action="store_true", help="no progress bar or per-epoch lines")
    p.set_defaults(func=cmd_qat)


def cmd_qat(args: argparse.Namespace) -> int:
    from spikinghash.pipeline.qat import run_qat
    from spikinghash.pipeline.run_dir import CHECKPOINT, METRICS, QAT_FILE

    last = run_qat(args.run_dir, args.out, epochs=args.epochs, lr=args.lr, calib=args.calib, resume=args.resume,
                   progress=not args.quiet)
    done = f"epoch {last['epoch']}/{args.epochs} fine-tuned" if last is not None else "nothing left to train"
    print(f"{done}; wrote {args.out / QAT_FILE}, {args.out / CHECKPOINT}, {args.out / METRICS}")
    return 0
