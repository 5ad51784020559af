"""``spikinghash simulate RUN_DIR --backend fast|lava [--samples N] [--calib N] [--limit N]``."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("simulate", help="run a neuromorphic-profile run on the Loihi-like integer target",
                       description="fast: float vs integer on the whole query and database splits (mAP, "
                                   "agreement, rates); lava: a few query samples on real Lava, compared "
                                   "spike for spike with the fast simulator. Writes RUN_DIR/hw_sim.json.")
    p.add_argument("run_dir", type=Path)
    p.add_argument("--backend", choices=("fast", "lava"), default="fast", help="simulator [fast]")
    p.add_argument("--samples", type=int, default=2, help="query samples run on Lava (lava backend) [2]")
    p.add_argument("--calib", type=int, default=256, help="training samples for calibration [256]")
    p.add_argument("--limit", type=int, help="fast backend: only the first N samples of each split [all]")
    p.add_argument("--batch-size", type=int, default=32, help="samples per simulated batch [32]")
    p.add_argument("--threads", type=int, default=1, help="torch threads [1]")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_simulate)


def cmd_simulate(args: argparse.Namespace) -> int:
    from spikinghash.hw_sim.run_sim import simulate_run

    r = simulate_run(args.run_dir, args.backend, samples=args.samples, calib=args.calib, limit=args.limit,
                     batch_size=args.batch_size, threads=args.threads, progress=not args.quiet)
    if args.backend == "fast":
        print(f"{r['model']}: {r['samples']['query']} queries, {r['samples']['db']} database, T={r['T']}")
        print(f"  mAP float {r['map_float']:.4f} | integer {r['map_integer']:.4f} | hash-bit agreement "
              f"{100 * r['hash_bit_agreement']:.2f} % | rate float {r['mean_firing_rate_float']:.4f} "
              f"integer {r['mean_firing_rate_integer']:.4f}")
    else:
        lava = r["lava"]
        print(f"{r['model']}: {lava['samples']} samples on Lava, bit-exact with fast: {lava['bit_exact']} "
              f"({lava['mismatched_spikes']} spikes differ); Lava {lava['seconds_per_sample']:.1f} s/sample with "
              f"start-up, {lava['seconds_per_sample_after_startup']:.2f} after it; fast simulator "
              f"{lava['fast_samples_per_s']:.1f} samples/s ({lava['speedup']:.0f}x Lava after start-up)")
    print(f"wrote hw_sim.json, hw_sim_codes.npz, hw_sim_counts.npz, hw_sim.png to {args.run_dir}"
          if args.backend == "fast" else f"wrote hw_sim.json to {args.run_dir}")
    return 0
