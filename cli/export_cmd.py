"""``spikinghash export onnx RUN_DIR [-o FILE]`` (and ``export nir`` for neuromorphic-profile runs)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export a trained run to ONNX or NIR")
    esub = p.add_subparsers(dest="format", metavar="FORMAT", required=True)
    q = esub.add_parser("onnx", help="ONNX graph unrolled over T (Heaviside spikes, dynamic batch)")
    q.add_argument("run_dir", type=Path)
    q.add_argument("-o", "--output", type=Path, help="file to write [RUN_DIR/model.onnx]")
    q.add_argument("--opset", type=int, default=17, help="ONNX opset, 14 to 20 [17]")
    q.set_defaults(func=cmd_onnx)


def cmd_onnx(args: argparse.Namespace) -> int:
    from spikinghash.export.onnx_export import export_onnx
    from spikinghash.train.run_dir import load_trained

    run = load_trained(args.run_dir)
    w, h, c = run.info.sensor_size  # type: ignore[misc]
    out = args.output or run.run_dir / "model.onnx"
    info = export_onnx(run.model, out, (run.cfg.T, c, h, w), model_name=str(run.cfg.model), opset=args.opset)
    print(f"wrote {info.path} (opset {info.opset}, {info.export_seconds:.1f} s): "
          f"x [T={info.T}, batch, {c}, {h}, {w}] -> code [batch, {info.hash_bits}] uint8, "
          f"mem [batch, {info.hash_bits}], logits [batch, {info.num_classes}]")
    return 0
