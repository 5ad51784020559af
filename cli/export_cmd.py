"""``spikinghash export onnx RUN_DIR [-o FILE]`` and ``export nir RUN_DIR [-o FILE]`` (neuromorphic profiles)."""

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
    n = esub.add_parser("nir", help="NIR graph (HDF5) of a neuromorphic profile (*_nir) run")
    n.add_argument("run_dir", type=Path)
    n.add_argument("-o", "--output", type=Path, help="file to write [RUN_DIR/model.nir]")
    n.set_defaults(func=cmd_nir)


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


def cmd_nir(args: argparse.Namespace) -> int:
    from spikinghash.hw_sim.run_sim import NIR_FILE, export_run_nir
    from spikinghash.train.run_dir import load_trained

    run = load_trained(args.run_dir)
    out = args.output or run.run_dir / NIR_FILE
    graph = export_run_nir(run, out)
    neurons = sum(1 for node in graph.nodes.values() if type(node).__name__ in ("LIF", "IF"))
    print(f"wrote {out}: {len(graph.nodes)} nodes ({neurons} neuron layers), {len(graph.edges)} edges, "
          f"T={run.cfg.T}, dt={graph.metadata['dt']} s")
    return 0
