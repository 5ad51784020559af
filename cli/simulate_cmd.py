"""``spikinghash simulate RUN_DIR|GRAPH.nir|OUT_DIR --backend fast|lava|netx [--samples N] [--calib N] [--limit N]``.

A NIR file takes ``--data NAME [--root DIR] [-o K=V]`` or ``--inputs FILE.npz``, and ``--out DIR [--T N]``;
an output folder of an earlier run (``graph.json``) is reopened as recorded."""

from __future__ import annotations

import argparse
from pathlib import Path

from spikinghash.cli.options import add_graph_options, graph_options, positive_int


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("simulate", help="run a trained run or any NIR graph on the Loihi-like integer target",
                       description="fast: float vs integer on the query (and database) split (mAP or accuracy, "
                                   "agreement, rates); lava: a few query samples on real Lava, compared spike for "
                                   "spike with the fast simulator. Writes hw_sim.json into RUN_DIR or --out.")
    p.add_argument("target", type=Path, metavar="RUN_DIR|GRAPH.nir|OUT_DIR")
    p.add_argument("--backend", default="fast",
                   help="simulator: fast, lava (our Lava build) or netx (lava-dl's netx loader) [fast]")
    p.add_argument("--samples", type=int, default=2, help="query samples run on Lava (lava, netx backends) [2]")
    p.add_argument("--calib", type=int, default=256, help="training samples for calibration [256]")
    p.add_argument("--limit", type=int, help="fast backend: only the first N samples of each split [all]")
    p.add_argument("--batch-size", type=positive_int, default=32, help="samples per simulated batch [32]")
    p.add_argument("--threads", type=positive_int, default=1, help="torch threads [1]")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_graph_options(p, "folder for hw_sim.json, energy.json and the report")
    p.set_defaults(func=cmd_simulate)


def cmd_simulate(args: argparse.Namespace) -> int:
    from spikinghash.pipeline.commands import simulate_target

    r, out = simulate_target(args.target, args.backend, **graph_options(args), samples=args.samples,
                             calib=args.calib, limit=args.limit, batch_size=args.batch_size, threads=args.threads,
                             progress=not args.quiet)
    if args.backend == "fast":
        print(f"{r['model']}: {r['samples']['query']} queries, {r['samples']['db']} database, T={r['T']}"
              + (f" (dt {r['dt']} s, the default: the graph states none)" if r.get("dt_default") else ""))
        if "map_float" in r:
            print(f"  mAP float {r['map_float']:.4f} | integer {r['map_integer']:.4f} | hash-bit agreement "
                  f"{100 * r['hash_bit_agreement']:.2f} %")
        if "accuracy_float" in r:
            print(f"  accuracy float {r['accuracy_float']:.4f} | integer {r['accuracy_integer']:.4f}")
        print(f"  firing rate float {r['mean_firing_rate_float']:.4f} | integer {r['mean_firing_rate_integer']:.4f}")
    elif args.backend == "netx":
        nx = r["netx"]
        exact = {name: layer["bit_exact_fast"] and layer["bit_exact_lava"] is not False
                 for name, layer in nx["layers"].items()}
        print(f"{r['model']}: {nx['samples']} samples through lava-dl netx ({nx['file']}): bit-exact with the fast "
              f"simulator and our Lava build: {nx['bit_exact']} ({sum(exact.values())}/{len(exact)} layers); "
              f"netx {nx['seconds_per_sample']:.2f} s/sample; layer offsets "
              f"{[layer['offset_steps'] for layer in nx['layers'].values()]} steps (one per synapse layer)")
    else:
        lava = r["lava"]
        print(f"{r['model']}: {lava['samples']} samples on Lava, bit-exact with fast: {lava['bit_exact']} "
              f"({lava['mismatched_spikes']} spikes differ); Lava {lava['seconds_per_sample']:.1f} s/sample with "
              f"start-up, {lava['seconds_per_sample_after_startup']:.2f} after it; fast simulator "
              f"{lava['fast_samples_per_s']:.1f} samples/s ({lava['speedup']:.0f}x Lava after start-up)"
              + (f"; accuracy on Lava {lava['accuracy_lava']:.4f}" if "accuracy_lava" in lava else ""))
    print(f"wrote hw_sim.json and more to {out}")
    return 0
