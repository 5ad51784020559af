"""``spikinghash export onnx RUN_DIR``, ``export nir RUN_DIR | --snntorch PKG.MODULE:FACTORY ...`` and
``export netx RUN_DIR|GRAPH.nir``."""

from __future__ import annotations

import argparse
from pathlib import Path

from spikinghash.cli.options import add_graph_options, graph_options


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export a trained run (or your snnTorch model) to ONNX, NIR or lava-dl netx")
    esub = p.add_subparsers(dest="format", metavar="FORMAT", required=True)
    q = esub.add_parser("onnx", help="ONNX graph unrolled over T (Heaviside spikes, dynamic batch)")
    q.add_argument("run_dir", type=Path)
    q.add_argument("-o", "--output", type=Path, help="file to write [RUN_DIR/model.onnx]")
    q.add_argument("--opset", type=int, default=17, help="ONNX opset, 14 to 20 [17]")
    q.set_defaults(func=cmd_onnx)
    n = esub.add_parser("nir", help="NIR graph (HDF5) of a neuromorphic-profile run or of an snnTorch module")
    n.add_argument("run_dir", type=Path, nargs="?", help="a neuromorphic-profile (*_nir) run")
    n.add_argument("-o", "--output", type=Path, help="file to write [RUN_DIR/model.nir]")
    n.add_argument("--snntorch", metavar="PKG.MODULE:FACTORY", help="export the module this factory returns instead")
    n.add_argument("--weights", type=Path, help="its state dict (torch.save; loaded with weights_only=True)")
    n.add_argument("--input-shape", metavar="C,H,W", help="one step's input shape, e.g. 2,34,34")
    n.add_argument("--dt", type=float, default=1e-3, help="time step of the graph in seconds [1e-3]")
    n.add_argument("--portable", action="store_true",
                   help="avoid node kinds snnTorch cannot import where an exact equivalent exists")
    n.set_defaults(func=cmd_nir)
    x = esub.add_parser("netx", help="lava-dl netx HDF5 network of a sequential graph (dense/conv, CUBA neurons)")
    x.add_argument("target", type=Path, metavar="RUN_DIR|GRAPH.nir|OUT_DIR")
    x.add_argument("-o", "--output", type=Path, help="file to write [RUN_DIR/model.net]")
    x.add_argument("--calib", type=int, default=256, help="training samples for calibration [256]")
    add_graph_options(x, "folder the network goes to when no -o is given", option_flags=("--option",))
    x.set_defaults(func=cmd_netx)


def cmd_onnx(args: argparse.Namespace) -> int:
    from spikinghash.pipeline.export import check_onnx_args, export_run_onnx
    from spikinghash.pipeline.run_dir import load_run

    check_onnx_args(args.output, args.opset)
    info, (c, h, w) = export_run_onnx(load_run(args.run_dir), args.output, opset=args.opset)
    print(f"wrote {info.path} (opset {info.opset}, {info.export_seconds:.1f} s): "
          f"x [T={info.T}, batch, {c}, {h}, {w}] -> code [batch, {info.bits}] uint8, "
          f"mem [batch, {info.bits}], logits [batch, {info.num_classes}]")
    return 0


def cmd_nir(args: argparse.Namespace) -> int:
    from spikinghash.pipeline.export import export_nir_target

    out, graph, consumers = export_nir_target(args.run_dir, args.output, snntorch=args.snntorch,
                                              weights=args.weights, input_shape=args.input_shape, dt=args.dt,
                                              portable=args.portable)
    neurons = sum(1 for node in graph.nodes.values() if type(node).__name__ in ("LIF", "IF", "CubaLIF", "LI"))
    print(f"wrote {out}: {len(graph.nodes)} nodes ({neurons} neuron nodes at the top level), {len(graph.edges)} "
          f"edges, T={graph.metadata.get('T')}, dt={graph.metadata.get('dt')} s")
    for name, verdict in consumers.items():
        print(f"  {name}: {verdict}")
    return 0


def cmd_netx(args: argparse.Namespace) -> int:
    from spikinghash.pipeline.commands import export_netx_target

    path, changes = export_netx_target(args.target, args.output, calib=args.calib, **graph_options(args))
    divided = {n: c["scale_divided_by"] for n, c in changes.items() if c["scale_divided_by"] != 1}
    print(f"wrote {path}: {len(changes)} layers for lava-dl netx (netx.hdf5.Network)")
    if divided:
        print(f"  scales divided to fit netx's 8-bit weights at exponent 0: {divided}")
    worst = max((c["max_bias_change_thresholds"] for c in changes.values()), default=0.0)
    print(f"  biases rounded to netx's 64-unit grid: at most {worst:.4f} of a threshold per step")
    return 0
