"""Fast integer simulator vs Lava (fixed_pt), side by side in one run, on the NIR paper's N-MNIST CNN.

Run from the repository root: ``python benchmarks/bench_nir_graphs.py [--T 16] [--lava-samples 8]
[--fast-samples 256] [--braille] [--threads 1]``.

The graph is ``hw_sim.nir_examples.nmnist_cnn`` (random weights), the architecture the NIR paper ran
on Lava, Sinabs, snnTorch, Norse, SpiNNaker2 and Speck, as Sinabs exports it: ``Conv2d → IF →
Conv2d → IF → SumPool2d → Conv2d → IF → SumPool2d → Flatten → Affine → IF → Affine → IF`` on
2×34×34 event-count frames (Poisson, 0.3 events per pixel and step), no biases, r = 1, no dt. It is
lowered (``hw_sim.frontend.passes``: SumPool2d → Conv2d and SumPool2d → Flatten → Affine composed),
quantized on its own frames, then

1. run on Lava once with one sample (warm-up: the first run of a process pays one-time costs), then
   with N and 2N samples back to back ("interval" schedule): per sample after Lava's start-up =
   (time of the 2N run − time of the N run) / N, so build, compile and process start-up cancel out;
2. run on the fast simulator on ``--fast-samples`` samples after a warm-up call (freed memory kept
   in the heap, as the ``simulate`` job keeps it);
3. checked for bit-exactness: every spike of every layer and the output layer's v of the 2N Lava
   samples against the fast simulator.

Prints one JSON line per graph: samples/s of both, the ratio (target >= 100), the mismatches.
``--braille`` adds the recurrent braille network (``nir_examples.braille_rnn``).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from spikinghash.hw_sim import nir_examples
from spikinghash.hw_sim.backends.fast import simulate_int
from spikinghash.hw_sim.backends.heap import keep_freed_memory
from spikinghash.hw_sim.backends.lava.run import run_lava
from spikinghash.hw_sim.frontend.read import load
from spikinghash.hw_sim.target.quantize import quantize
from spikinghash.hw_sim.verify.compare import bit_exactness


def bench(name: str, graph, shape: tuple[int, ...], rate: float, steps: int, lava_samples: int,
          fast_samples: int, threads: int = 1) -> dict:
    net = load(graph)
    frames = np.random.default_rng(0).poisson(rate, (steps, max(fast_samples, 2 * lava_samples), *shape))
    frames = frames.astype(np.float64)
    int_net = quantize(net, frames[:, :64])
    run_lava(int_net, frames, samples=1)  # warm-up: the first Lava run of a process pays one-time imports and caches
    lava_n = run_lava(int_net, frames, samples=lava_samples)
    lava_2n = run_lava(int_net, frames, samples=2 * lava_samples)
    per_sample = (lava_2n.seconds - lava_n.seconds) / lava_samples
    x = frames[:, :fast_samples]
    simulate_int(int_net, x, batch_size=fast_samples, threads=threads)  # warm-up: the compiled loop, the heap
    start = time.perf_counter()
    fast = simulate_int(int_net, x, batch_size=fast_samples, threads=threads)
    fast_seconds = time.perf_counter() - start
    diff = bit_exactness(fast, lava_2n)
    return {"graph": name, "T": steps, "layers": list(net.neurons), "realisations": lava_2n.info["realisations"],
            "lava_samples": [lava_samples, 2 * lava_samples],
            "lava_seconds": [round(lava_n.seconds, 3), round(lava_2n.seconds, 3)],
            "lava_setup_seconds": round(lava_2n.setup_seconds, 3),
            "lava_seconds_per_sample_after_startup": round(per_sample, 4),
            "fast_samples": fast_samples, "fast_threads": threads, "fast_seconds": round(fast_seconds, 4),
            "fast_samples_per_s": round(fast_samples / fast_seconds, 1),
            "ratio_fast_over_lava": round(fast_samples / fast_seconds * per_sample, 1),
            "bit_exact": not any(diff.values()), "mismatches": diff,
            "spike_rates": {n: round(float(s.mean()), 4) for n, s in fast.spikes.items()}}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--T", type=int, default=16)
    p.add_argument("--lava-samples", type=int, default=8)
    p.add_argument("--fast-samples", type=int, default=256)
    p.add_argument("--braille", action="store_true")
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads of the fast simulator (Lava's processes use every core either way) [1]")
    args = p.parse_args()
    keep_freed_memory()
    cases = [("nmnist_cnn", nir_examples.nmnist_cnn(), (2, 34, 34), 0.3)]
    if args.braille:
        cases.append(("braille_rnn", nir_examples.braille_rnn(), (12,), 0.5))
    for name, graph, shape, rate in cases:
        print(json.dumps(bench(name, graph, shape, rate, args.T, args.lava_samples, args.fast_samples,
                                     args.threads)), flush=True)


if __name__ == "__main__":
    main()
