"""Speed of the fast integer simulator against Lava (fixed_pt) on the same quantized network.

Run from the repository root: ``python benchmarks/bench_hw_sim.py [--lava-samples 4] [--fast-samples 512]``;
``--ti`` runs an untrained ``spikinghash_ti_nir`` (dvs-digits input, T = 4) instead.

The network (random weights, T = 8, event-count input 2×16×16) has the shape of a small DVS
hashing model: Conv 2→8 → LIF → {Conv 8→8 stride 2 | SumPool 2×2} → LIF (residual fan-in)
→ Flatten → Affine 512→32 → LIF (hash layer); plus a third path into the second LIF layer,
Input → Delay 1 → Conv 2→8 stride 2 (a DelaySparse on Lava). It is quantized on its own
frames, then run

1. on Lava with both state-reset schedules: LIFReset with samples back to back in one run
   ("interval"), and one run per sample on the same compiled network with every state Var
   zeroed in between ("fresh"); each call builds and compiles once;
2. on the fast simulator (after a warm-up call on one batch), with freed memory kept in the
   heap as the ``simulate`` job keeps it (``hw_sim.backends.heap``).

The heap setting does not change Lava's speed: 3.30 and 3.63 s/sample without it, 3.48 and
3.32 s/sample with it (``spikinghash_ti_nir``, 4 samples per run, measured apart).

Prints samples/s of each (Lava's back-to-back schedule also per sample after its start-up,
from runs of N and 2N samples), the ratios fast / Lava, and the bit-exactness check of every
Lava sample (differing spikes per layer, hash-layer v and code bits).
"""

from __future__ import annotations

import argparse
import json

import nir
import numpy as np

from spikinghash.hw_sim.backends.fast import simulate_int
from spikinghash.hw_sim.backends.heap import keep_freed_memory
from spikinghash.hw_sim.backends.lava.run import run_lava
from spikinghash.hw_sim.frontend.float_sim import simulate_float
from spikinghash.hw_sim.frontend.graph import parse
from spikinghash.hw_sim.target.quantize import quantize
from spikinghash.hw_sim.verify.compare import bit_exactness, compare_float_int

DT = 1e-3


def bench_graph(seed: int = 0) -> nir.NIRGraph:
    rng = np.random.default_rng(seed)

    def lif(shape, gamma=2.0):
        return nir.LIF(tau=np.full(shape, gamma * DT), r=np.ones(shape), v_leak=np.zeros(shape),
                       v_threshold=np.ones(shape), v_reset=np.zeros(shape))

    def conv(cin, cout, hw, stride, std):
        return nir.Conv2d(input_shape=hw, weight=rng.normal(0, std, (cout, cin, 3, 3)), stride=stride, padding=1,
                          dilation=1, groups=1, bias=rng.normal(0.1, 0.1, cout))

    nodes = {"in": nir.Input(input_type={"input": np.array([2, 16, 16])}),
             "c1": conv(2, 8, (16, 16), 1, 0.5), "n1": lif((8, 16, 16)),
             "c2": conv(8, 8, (16, 16), 2, 0.25),
             "pool": nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])),
             "d": nir.Delay(delay=np.full((2, 16, 16), DT)), "c3": conv(2, 8, (16, 16), 2, 0.3),
             "n2": lif((8, 8, 8), 3.0), "fl": nir.Flatten(input_type={"input": np.array([8, 8, 8])}, start_dim=0),
             "a": nir.Affine(weight=rng.normal(0, 0.06, (32, 512)), bias=rng.normal(4.4, 0.6, 32)),
             "n3": lif((32,), 4.0), "out": nir.Output(output_type={"output": np.array([32])})}
    edges = [("in", "c1"), ("c1", "n1"), ("n1", "c2"), ("c2", "n2"), ("n1", "pool"), ("pool", "n2"),
             ("in", "d"), ("d", "c3"), ("c3", "n2"), ("n2", "fl"), ("fl", "a"), ("a", "n3"), ("n3", "out")]
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata={"dt": DT, "T": 8}, type_check=False)


def ti_nir_case(samples: int, steps: int = 4, seed: int = 0) -> tuple[nir.NIRGraph, np.ndarray]:
    """An untrained ``spikinghash_ti_nir`` exported for dvs-digits input (2 polarities, 32×32, T = 4) and
    Poisson event-count frames ``[T, samples, 2, 32, 32]``."""
    import torch

    from spikinghash.export.nir_export import to_nir_graph
    from spikinghash.models.neuromorphic import spikinghash_ti_nir

    torch.manual_seed(seed)
    model = spikinghash_ti_nir(in_channels=2, img_size=32, T=steps, bits=64, num_classes=10).eval()
    frames = np.random.default_rng(seed).poisson(0.3, (steps, samples, 2, 32, 32)).astype(np.float64)
    return to_nir_graph(model, T=steps, dt=DT, model_name="spikinghash_ti_nir"), frames


def fast_run(q, frames: np.ndarray, args: argparse.Namespace):
    """The fast simulator after a warm-up on one batch, with freed memory kept in the heap as the simulate job
    keeps it (unless ``--default-heap``); prints and returns (run, samples/s)."""
    kept = False if args.default_heap else keep_freed_memory()
    simulate_int(q, frames[:, :64], threads=args.threads)  # warm-up: one full batch
    fast = simulate_int(q, frames, threads=args.threads)
    rate = frames.shape[1] / fast.seconds
    print(f"fast sim : {frames.shape[1]} samples in {fast.seconds:.3f} s = {rate:,.2f} samples/s "
          f"({args.threads} torch thread(s); glibc keeps freed memory: {kept})")
    return fast, rate


def main_ti(args: argparse.Namespace) -> None:
    """Fast simulator vs one Lava call (its start-up timed apart) on the ti model."""
    graph, frames = ti_nir_case(args.fast_samples)
    q = quantize(parse(graph), frames)
    fast, fast_rate = fast_run(q, frames, args)
    lava = run_lava(q, frames, samples=args.lava_samples)
    per_sample = (lava.seconds - lava.setup_seconds) / args.lava_samples
    print(f"lava {lava.info['reset']}: {args.lava_samples} samples in {lava.seconds:.1f} s (build+compile+start "
          f"{lava.setup_seconds:.1f} s once, then {per_sample:.2f} s/sample; {lava.info['processes']} processes); "
          f"differences vs fast sim: {sum(bit_exactness(fast, lava).values())}")
    print(f"samples in 90 s: {max(0, int((90 - lava.setup_seconds) / per_sample))}; ratio fast / lava per sample: "
          f"{fast_rate * per_sample:,.1f}x; with start-up: {fast_rate * lava.seconds / args.lava_samples:,.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lava-samples", type=int, default=4)
    parser.add_argument("--fast-samples", type=int, default=512)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--ti", action="store_true", help="the untrained spikinghash_ti_nir on dvs-digits input "
                        "instead (use e.g. --lava-samples 2 --fast-samples 16)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads of the fast simulator [1]")
    parser.add_argument("--default-heap", action="store_true", help="leave glibc's malloc as it is for the fast "
                        "simulator too (the simulate job keeps freed memory in the heap, hw_sim.backends.heap)")
    args = parser.parse_args()
    if args.ti:
        main_ti(args)
        return

    net = parse(bench_graph())
    frames = np.random.default_rng(1).poisson(0.5, (args.steps, args.fast_samples, 2, 16, 16)).astype(np.float64)
    q = quantize(net, frames)

    fast, fast_rate = fast_run(q, frames, args)
    # Lava pays a start-up (build, compile, one OS process per Lava process) once per call; run_lava times it
    # (setup_seconds), so the per-sample rate after it is measured directly.
    n = args.lava_samples
    runs = {(reset, count): run_lava(q, frames, samples=count, reset=reset)
            for reset, count in (("interval", n), ("interval", 2 * n), ("fresh", n))}
    for (reset, count), lava in runs.items():
        diff = bit_exactness(fast, lava)
        per_sample = (lava.seconds - lava.setup_seconds) / count
        print(f"lava {reset:8s}: {count:3d} samples in {lava.seconds:6.2f} s = {count / lava.seconds:6.3f} samples/s"
              f" (build+compile+start {lava.setup_seconds:.1f} s once, then {per_sample:.3f} s/sample; "
              f"{lava.info['processes']} processes); differences vs fast sim: {json.dumps(diff)}")
    big = runs["interval", 2 * n]
    marginal = 2 * n / (big.seconds - big.setup_seconds)
    print(f"lava interval, per sample after start-up: {marginal:.3f} samples/s (start-up {big.setup_seconds:.1f} s); "
          f"fresh: {n / runs['fresh', n].seconds:.3f} samples/s with start-up")
    print(f"ratio fast / lava interval per sample: {fast_rate / marginal:,.0f}x; "
          f"fast / lava interval with start-up ({2 * n} samples): {fast_rate * big.seconds / (2 * n):,.0f}x")
    report = compare_float_int(simulate_float(net, frames), fast)
    print("float vs integer:", json.dumps({"layers": report["layers"], "hash": report["hash"]}, indent=1))


if __name__ == "__main__":
    main()
