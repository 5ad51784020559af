"""``spikinghash report RUN_DIR [--runs FOLDER]``: gather eval, hw_sim and energy into report.md/json + PNGs."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="gather eval.json, hw_sim.json and energy.json into report.md, "
                                      "report.json and figures")
    p.add_argument("run_dir", type=Path)
    p.add_argument("--runs", type=Path, help="folder of runs for the accuracy-energy bubble chart "
                                             "[RUN_DIR's parent folder]")
    p.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    from spikinghash.pipeline.report import build_report
    from spikinghash.pipeline.run_dir import REPORT_JSON, REPORT_MD

    report = build_report(args.run_dir, args.runs)
    for m in report["missing"]:
        print(f"missing {m['file']}: run `{m['command']}` (its numbers are null in the report)")
    shown = ("map_float", "map_integer", "hash_bit_agreement", "energy_pj_per_sample_float")
    print("  ".join(f"{k} {report[k]:.4g}" for k in shown if isinstance(report[k], (int, float))))
    print(f"wrote {args.run_dir / REPORT_MD}, {args.run_dir / REPORT_JSON} and "
          f"{len(report['figures'])} figures ({', '.join(report['figures'].values())})")
    return 0
