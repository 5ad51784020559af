"""``spikinghash energy RUN_DIR|GRAPH.nir [--samples N]``: energy per sample (Eqs. 25-26 and the energy
models), written to energy.json in RUN_DIR or --out. A NIR file takes ``--data NAME [--root DIR] --out DIR``."""

from __future__ import annotations

import argparse
from pathlib import Path

from spikinghash.cli.options import add_graph_options, graph_options


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("energy", help="energy per sample: Eq. 26, 45 nm with memory, Loihi-class; "
                                      "fp32 / int8 / low-bit ANN counterparts, the band and break-even rates")
    p.add_argument("target", type=Path, metavar="RUN_DIR|GRAPH.nir|OUT_DIR")
    p.add_argument("--samples", type=int, default=256, help="query samples to measure firing rates on [256]")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_graph_options(p, "folder for energy.json (the --out of `simulate GRAPH.nir`)")
    p.set_defaults(func=cmd_energy)


def cmd_energy(args: argparse.Namespace) -> int:
    from spikinghash.pipeline.run_dir import ENERGY_JSON
    from spikinghash.pipeline.commands import energy_target

    s, folder = energy_target(args.target, **graph_options(args), samples=args.samples, progress=not args.quiet)
    integer = s["energy_pj_per_sample_integer"]
    print(f"energy per sample (Eq. 26): {s['energy_pj_per_sample_float'] / 1e3:.1f} nJ float"
          + (f", {integer / 1e3:.1f} nJ integer" if integer is not None else "")
          + f", {s['energy_pj_per_sample_ann_fp32'] / 1e3:.1f} nJ fp32 ANN; mean firing rate "
            f"{s['mean_firing_rate_float']:.3f}")
    band = s.get("energy_pj_per_sample_band")
    if band:
        print(f"  band {band['low'] / 1e3:.1f} nJ ({band['low_model']}) to {band['high'] / 1e3:.1f} nJ "
              f"({band['high_model']}); int8 ANN {s['energy_pj_per_sample_ann_int8'] / 1e3:.1f} nJ (docs/energy.md)")
    print(f"wrote {folder / ENERGY_JSON} and its PNGs")
    return 0
