"""Train your own snnTorch network on dvs-digits frames, then export it to NIR for the integer target.

A plain snnTorch workflow (surrogate gradients, snnTorch's own training loop and rate loss),
followed by ``spikinghash.export.snntorch_to_nir``. The exported graph's float reference
(``hw_sim``) is checked against snnTorch's forward on the query split, spike for spike.

    .venv/bin/python examples/snntorch_dvs_digits.py --epochs 10 -o runs/snntorch_dvs_digits

writes ``weights.pt`` (state dict), ``model.nir`` and ``results.json`` there. The same graph can
be made from the factory and the weights alone::

    spikinghash export nir --snntorch examples.snntorch_dvs_digits:build_net \\
        --weights runs/snntorch_dvs_digits/weights.pt --input-shape 2,32,32 -o model.nir

CPU-small: about 12 s per epoch on one core (2,398 training samples, T = 8).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import snntorch as snn
import snntorch.functional as SF
import torch
from snntorch import surrogate, utils
from torch import nn

from spikinghash.atomic_io import atomic_path
from spikinghash.data.frames import frame_loader
from spikinghash.data.registry import load_split
from spikinghash.export.nir_export import write_graph
from spikinghash.export.snntorch_nir import snntorch_to_nir
from spikinghash.hw_sim.frontend.consumers import record_consumers
from spikinghash.hw_sim.frontend.float_sim import simulate_float
from spikinghash.hw_sim.frontend.read import load

CLASSES = 16  # dvs-digits: 10 digits and 3 pairs of temporal classes
INPUT_SHAPE = (2, 32, 32)


def build_net() -> nn.Sequential:
    """The factory: two conv blocks and a class layer of Leaky neurons that reset to zero (exportable)."""
    lif = dict(init_hidden=True, reset_mechanism="zero", spike_grad=surrogate.fast_sigmoid(slope=25))
    return nn.Sequential(
        nn.Conv2d(2, 12, 5, stride=2, padding=2), nn.BatchNorm2d(12), snn.Leaky(beta=0.9, **lif),
        nn.AvgPool2d(2),
        nn.Conv2d(12, 32, 3, padding=1), nn.BatchNorm2d(32), snn.Leaky(beta=0.9, **lif),
        nn.AvgPool2d(2), nn.Flatten(),
        nn.Linear(32 * 4 * 4, CLASSES), snn.Leaky(beta=0.9, learn_beta=True, **lif))


def run_steps(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """snnTorch's loop: reset the hidden states, then one call per frame; ``x [T, B, ...] -> spikes [T, B, classes]``."""
    utils.reset(net)
    return torch.stack([net(frame) for frame in x])


def train(net: nn.Module, epochs: int, T: int, batch: int, lr: float) -> None:
    loader = frame_loader(load_split("dvs-digits", "train"), T, batch, shuffle=True, seed=0)
    loss_fn = SF.ce_rate_loss()
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    for epoch in range(epochs):
        net.train()
        start, total, correct, seen = time.perf_counter(), 0.0, 0, 0
        for x, y in loader:
            spikes = run_steps(net, x)
            loss = loss_fn(spikes, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(y)
            correct += int((spikes.sum(0).argmax(1) == y).sum())
            seen += len(y)
        print(f"epoch {epoch + 1}: loss {total / seen:.3f}, train accuracy {correct / seen:.3f} "
              f"({time.perf_counter() - start:.0f} s)")


@torch.no_grad()
def query_frames(T: int) -> tuple[torch.Tensor, np.ndarray]:
    """The query split as ``x [T, N, 2, 32, 32]`` and labels ``[N]``."""
    xs, ys = zip(*frame_loader(load_split("dvs-digits", "query"), T, 256))
    return torch.cat(xs, dim=1), torch.cat(ys).numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--T", type=int, default=8, help="frames per sample")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("-o", "--out", type=Path, default=Path("runs/snntorch_dvs_digits"))
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    net = build_net()
    train(net, args.epochs, args.T, args.batch, args.lr)
    net.eval()
    x, labels = query_frames(args.T)
    with torch.no_grad():
        snn_out = torch.cat([run_steps(net, x[:, i:i + 256]) for i in range(0, x.shape[1], 256)], dim=1).numpy()
    graph = snntorch_to_nir(net, torch.zeros(1, *INPUT_SHAPE), T=args.T)
    consumers = record_consumers(graph, {"spikinghash.hw_sim": load})
    run = simulate_float(load(graph), x.numpy())
    out_name = [n for n in run.spikes if n == "10"][0]  # the class layer's module path
    nir_out = run.spikes[out_name].astype(np.float32)
    results = {
        "epochs": args.epochs, "T": args.T, "query_samples": int(len(labels)),
        "accuracy_snntorch": float((snn_out.sum(0).argmax(1) == labels).mean()),
        "accuracy_nir_float_reference": float((nir_out.sum(0).argmax(1) == labels).mean()),
        "output_spike_agreement": float((snn_out == nir_out).mean()),
        "consumers": consumers,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    with atomic_path(args.out / "weights.pt") as tmp:
        torch.save(net.state_dict(), tmp)
    write_graph(graph, args.out / "model.nir")
    with atomic_path(args.out / "results.json") as tmp:
        Path(tmp).write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
