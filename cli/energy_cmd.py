"""``spikinghash energy RUN_DIR [--samples N]``: energy per sample (Eqs. 25-26), written to RUN_DIR/energy.json."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("energy", help="energy per sample (Eqs. 25-26), float vs integer vs ANN, Loihi view")
    p.add_argument("run_dir", type=Path)
    p.add_argument("--samples", type=int, default=256, help="query samples to measure firing rates on [256]")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_energy)


def cmd_energy(args: argparse.Namespace) -> int:
    from spikinghash.energy.run_energy import ENERGY_JSON, ENERGY_PNG, estimate_run

    s = estimate_run(args.run_dir, samples=args.samples, progress=not args.quiet)
    integer = s["energy_pj_per_sample_integer"]
    print(f"energy per sample: {s['energy_pj_per_sample_float'] / 1e3:.1f} nJ float"
          + (f", {integer / 1e3:.1f} nJ integer" if integer is not None else "")
          + f", {s['energy_pj_per_sample_ann'] / 1e3:.1f} nJ ANN; mean firing rate {s['mean_firing_rate_float']:.3f}; "
          f"wrote {args.run_dir / ENERGY_JSON}, {args.run_dir / ENERGY_PNG}")
    return 0
