"""The MLP of both block types (paper Eq. 5)."""

from __future__ import annotations

from torch import Tensor, nn

from spikinghash.models.lif import LIF, LIFParams
from spikinghash.models.time_folded import TimeFolded


class SpikingMLP(nn.Module):
    """Eq. 5: MLP(X) = BN(Linear(SN(BN(Linear(SN(X)))))), ``[T, B, C, H, W]`` -> same shape.

    The linear layers act per position and time step (1×1 convolutions on all ``T·B``
    samples at once); they carry no bias because a batch norm follows each.
    """

    def __init__(self, dim: int, hidden: int, neuron: LIFParams | None = None) -> None:
        super().__init__()
        params = neuron if neuron is not None else LIFParams()
        self.sn1 = LIF(params)
        self.fc1 = TimeFolded(nn.Conv2d(dim, hidden, 1, bias=False), nn.BatchNorm2d(hidden))
        self.sn2 = LIF(params)
        self.fc2 = TimeFolded(nn.Conv2d(hidden, dim, 1, bias=False), nn.BatchNorm2d(dim))

    def forward(self, x: Tensor) -> Tensor:
        """``x: [T, B, C, H, W]`` float -> ``[T, B, C, H, W]`` float."""
        return self.fc2(self.sn2(self.fc1(self.sn1(x))))
