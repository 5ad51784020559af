"""Speed of our LIF against snnTorch's per-step Leaky, and of a Spikinghash-S training step.

Run from the repository root: ``python benchmarks/bench_lif.py [--device cpu|cuda|all]``.

Measures, in one run and per device (CPU, and CUDA when available):

1. forward + backward of one LIF layer, T = 8, B = 32, 131,072 neurons: our fused
   multi-step LIF against snnTorch ``Leaky`` (same β, threshold, zero reset, ATan) driven
   step by step, as in snnTorch's tutorials;
2. a training step (forward, loss, backward, SGD update) of ``spikinghash_s`` on CIFAR10-
   shaped input (3×32×32, T = 4), with our LIF in every neuron layer, and again with every
   neuron layer replaced by the per-step snnTorch loop.

Prints medians of ``--repeats`` timed runs after one warm-up, and the ratios.
"""

from __future__ import annotations

import argparse
import statistics
import time
from contextlib import contextmanager
from typing import Callable, Iterator
from unittest import mock

import snntorch as snn
import torch

from spikinghash.models import create_model
from spikinghash.models import lif
from spikinghash.models.lif import LIFParams, LIFTrace, lif_multistep


def snntorch_multistep(x: torch.Tensor, p: LIFParams) -> LIFTrace:
    """The same neuron as snnTorch users write it: one ``Leaky`` call per time step."""
    leaky = snn.Leaky(beta=p.decay, threshold=p.v_threshold, reset_mechanism="zero", spike_grad=p.spike_fn())
    mem = torch.zeros_like(x[0])
    spikes, mems = [], []
    drive = x * p.gain
    for t in range(x.shape[0]):
        spk, mem = leaky(drive[t], mem)
        spikes.append(spk)
        mems.append(mem)
    return LIFTrace(torch.stack(spikes), torch.stack(mems))


@contextmanager
def snntorch_neurons() -> Iterator[None]:
    """Every LIF layer of our models runs the per-step snnTorch loop inside this block."""
    with mock.patch.object(lif, "lif_multistep", snntorch_multistep):
        yield


def median_seconds(fn: Callable[[], None], repeats: int, device: torch.device) -> float:
    """Median wall time of ``fn`` over ``repeats`` runs after one warm-up run."""
    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    fn()
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_lif(device: torch.device, repeats: int, T: int = 8, batch: int = 32, neurons: int = 131_072) -> tuple[float, float]:
    """Seconds per forward + backward of one LIF layer: (ours, snnTorch)."""
    p = LIFParams()
    gen = torch.Generator().manual_seed(0)
    x = (1.5 * torch.randn(T, batch, neurons, generator=gen)).to(device).requires_grad_()

    def run(multistep: Callable[[torch.Tensor, LIFParams], LIFTrace]) -> Callable[[], None]:
        def step() -> None:
            x.grad = None
            multistep(x, p).spikes.sum().backward()
        return step

    return median_seconds(run(lif_multistep), repeats, device), median_seconds(run(snntorch_multistep), repeats, device)


def bench_train_step(device: torch.device, repeats: int, batch: int) -> tuple[float, float]:
    """Images per second of a ``spikinghash_s`` training step: (our LIF, snnTorch loop)."""
    torch.manual_seed(0)
    settings = {"in_channels": 3, "img_size": 32, "T": 4, "bits": 64, "num_classes": 10}
    model = create_model("spikinghash_s", **settings).to(device).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
    images = torch.randn(batch, 3, 32, 32, device=device)
    x = images.unsqueeze(0).repeat(settings["T"], 1, 1, 1, 1)  # static images, repeated over T
    labels = torch.randint(0, 10, (batch,), device=device)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        out = model(x)
        loss = torch.nn.functional.cross_entropy(out.logits, labels) + out.mem.square().mean()
        loss.backward()
        optimizer.step()

    ours = median_seconds(step, repeats, device)
    with snntorch_neurons():
        theirs = median_seconds(step, repeats, device)
    return batch / ours, batch / theirs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=["cpu", "cuda", "all"], default="all")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch-cpu", type=int, default=8, help="training-step batch on CPU")
    parser.add_argument("--batch-cuda", type=int, default=64, help="training-step batch on CUDA")
    parser.add_argument("--threads", type=int, default=0,
                        help="CPU threads (0: torch's default); 1 avoids stalls on a shared machine")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    devices = {"cpu": ["cpu"], "cuda": ["cuda"], "all": ["cpu", "cuda"]}[args.device]
    print(f"torch {torch.__version__}, snntorch {snn.__version__}, CPU threads {torch.get_num_threads()}")
    for name in devices:
        if name == "cuda" and not torch.cuda.is_available():
            print("cuda: not available, skipped")
            continue
        device = torch.device(name)
        label = torch.cuda.get_device_name(device) if name == "cuda" else "cpu"
        ours, theirs = bench_lif(device, args.repeats)
        print(f"[{label}] LIF fwd+bwd T=8 B=32 N=131072: ours {ours * 1e3:.1f} ms, "
              f"snnTorch Leaky per step {theirs * 1e3:.1f} ms, snnTorch/ours = {theirs / ours:.2f}")
        batch = args.batch_cuda if name == "cuda" else args.batch_cpu
        ours_ips, theirs_ips = bench_train_step(device, args.repeats, batch)
        print(f"[{label}] spikinghash_s train step (B={batch}, T=4, 3x32x32): ours {ours_ips:.1f} images/s, "
              f"with snnTorch neurons {theirs_ips:.1f} images/s, ours/snnTorch = {ours_ips / theirs_ips:.2f}")


if __name__ == "__main__":
    main()
