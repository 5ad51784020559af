"""``spikinghash energy RUN_DIR|GRAPH.nir [--samples N]``: energy per sample (Eqs. 25-26 and the energy
models), written to energy.json in RUN_DIR or --out. A NIR file takes ``--data NAME [--root DIR] --out DIR``."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("energy", help="energy per sample: Eq. 26 two ways, 45 nm with memory, Loihi-class; "
                                      "fp32 / int8 / low-bit ANN counterparts, the band and break-even rates")
    p.add_argument("target", type=Path, metavar="RUN_DIR|GRAPH.nir")
    p.add_argument("--samples", type=int, default=256, help="query samples to measure firing rates on [256]")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    g = p.add_argument_group("a NIR file (GRAPH.nir)")
    g.add_argument("--data", help="dataset whose frames feed the graph")
    g.add_argument("--root", type=Path, help="folder holding the dataset's files")
    g.add_argument("--out", type=Path, help="folder for energy.json (the --out of `simulate GRAPH.nir`)")
    g.add_argument("--T", type=int, help="time steps per sample, if the graph's metadata does not say")
    g.add_argument("-o", "--option", action="append", metavar="KEY=VALUE", help="dataset option (repeatable)")
    p.set_defaults(func=cmd_energy)


def cmd_energy(args: argparse.Namespace) -> int:
    from spikinghash.cli.options import parse_options
    from spikinghash.pipeline.energy import check_energy_inputs, estimate_target
    from spikinghash.pipeline.run_dir import ENERGY_JSON

    check_energy_inputs(args.target, args.samples, args.out)
    s, folder = estimate_target(args.target, data=args.data, root=args.root, out=args.out, T=args.T,
                                options=parse_options(args.option) if args.option else None, samples=args.samples,
                                progress=not args.quiet)
    integer = s["energy_pj_per_sample_integer"]
    print(f"energy per sample (Eq. 26, ours): {s['energy_pj_per_sample_float'] / 1e3:.1f} nJ float"
          + (f", {integer / 1e3:.1f} nJ integer" if integer is not None else "")
          + f", {s['energy_pj_per_sample_ann'] / 1e3:.1f} nJ fp32 ANN; mean firing rate {s['mean_firing_rate_float']:.3f}")
    band = s.get("energy_pj_per_sample_band")
    if band:
        print(f"  band {band['low'] / 1e3:.1f} nJ ({band['low_model']}) to {band['high'] / 1e3:.1f} nJ "
              f"({band['high_model']}); int8 ANN {s['energy_pj_per_sample_ann_int8'] / 1e3:.1f} nJ (docs/energy.md)")
    print(f"wrote {folder / ENERGY_JSON} and its PNGs")
    return 0
