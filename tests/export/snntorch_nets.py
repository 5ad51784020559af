"""Real snnTorch networks for the export tests, and snnTorch's own forward recorded per layer and step."""

from __future__ import annotations

import numpy as np
import snntorch as snn
import torch
from torch import Tensor, nn

ZERO = {"init_hidden": True, "reset_mechanism": "zero"}


@torch.no_grad()
def _gain(net: nn.Sequential, gains: dict[int, float]) -> None:
    """Scale the default initialisation so that every layer fires at a few percent."""
    for index, gain in gains.items():
        net[index].weight.mul_(gain)


def conv_net(seed: int = 0, per_channel: bool = True) -> nn.Sequential:
    """``Conv2d → Leaky → AvgPool2d → Conv2d → Leaky → Flatten → Linear → Leaky`` on ``[2, 34, 34]``,
    float32 (snnTorch spikes are float32), with per-channel learned betas and thresholds in the second
    layer if ``per_channel`` (else one beta 0.6 and threshold 1)."""
    torch.manual_seed(seed)
    second = (dict(beta=torch.rand(8, 1, 1) * 0.5 + 0.4, threshold=torch.rand(8, 1, 1) + 0.5, learn_beta=True,
                   learn_threshold=True) if per_channel else dict(beta=0.6, threshold=1.0))
    net = nn.Sequential(
        nn.Conv2d(2, 6, 3, padding=1), snn.Leaky(beta=0.9, **ZERO), nn.AvgPool2d(2),
        nn.Conv2d(6, 8, 3, stride=2, padding=1),
        snn.Leaky(**second, reset_delay=False, **ZERO),
        nn.Flatten(), nn.Linear(8 * 9 * 9, 10), snn.Leaky(beta=0.8, threshold=0.5, **ZERO))
    _gain(net, {0: 2.0, 3: 9.0, 6: 4.0})
    return net.eval()


def recurrent_net(seed: int = 0, synaptic_bias: bool = True) -> nn.Sequential:
    """``Linear → RLeaky → Linear → Synaptic`` (16 → 12 → 5), float32; the recurrent Linear has a bias,
    the Linear into the Synaptic one if ``synaptic_bias``."""
    torch.manual_seed(seed)
    net = nn.Sequential(
        nn.Linear(16, 12), snn.RLeaky(beta=0.85, linear_features=12, threshold=0.7, reset_delay=False, **ZERO),
        nn.Linear(12, 5, bias=synaptic_bias), snn.Synaptic(alpha=0.6, beta=0.8, threshold=0.6, reset_delay=False, **ZERO))
    _gain(net, {0: 2.0})
    return net.eval()


def reset(net: nn.Module) -> None:
    for m in net.modules():
        if isinstance(m, snn.SpikingNeuron):
            m.reset_mem()


@torch.no_grad()
def snntorch_spikes(net: nn.Module, frames: Tensor) -> dict[str, np.ndarray]:
    """snnTorch's own forward, one call per step on ``frames [T, B, ...]``: each neuron's spikes
    ``[T, B, ...]`` by module path (read by forward hooks)."""
    record: dict[str, list[np.ndarray]] = {}
    hooks = []
    for path, m in net.named_modules():
        if isinstance(m, snn.SpikingNeuron):
            record[path] = []
            hooks.append(m.register_forward_hook(
                lambda mod, a, out, p=path: record[p].append((out[0] if isinstance(out, tuple) else out).numpy().copy())))
    reset(net)
    try:
        for frame in frames:
            net(frame)
    finally:
        for h in hooks:
            h.remove()
        reset(net)
    return {p: np.stack(v) for p, v in record.items()}


def event_frames(T: int, batch: int, shape: tuple[int, ...], seed: int, rate: float = 1.0) -> Tensor:
    """Poisson counts ``[T, batch, *shape]`` (float32)."""
    gen = torch.Generator().manual_seed(seed)
    return torch.poisson(torch.full((T, batch, *shape), rate), generator=gen)
