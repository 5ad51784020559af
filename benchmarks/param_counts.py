"""Parameter counts of the Spikinghash series beside the paper's (Tables II and III).

Run from the repository root: ``python benchmarks/param_counts.py``.
Builds each model (no forward pass) and prints a Markdown table.

Assumed settings, as the paper's experiments describe them: CIFAR10 = 3 channels, 32×32,
T = 4, 10 classes; UCF101-DVS = 2 polarity channels, 128×128 frames, T = 8, 101 classes.
Codes of 64 bits in both (the smallest length reported for both tables).
"""

from __future__ import annotations

from typing import NamedTuple

from spikinghash.models import create_model

CIFAR10 = {"in_channels": 3, "img_size": 32, "T": 4, "num_classes": 10, "bits": 64}
UCF101_DVS = {"in_channels": 2, "img_size": 128, "T": 8, "num_classes": 101, "bits": 64}


class ParamRow(NamedTuple):
    model: str
    dataset: str
    ours_m: float
    paper_m: float

    @property
    def diff_pct(self) -> float:
        return 100.0 * (self.ours_m - self.paper_m) / self.paper_m


#: (registered model, dataset name, build settings, paper's count in millions, source).
PAPER_COUNTS = [
    ("spikinghash_s", "CIFAR10", CIFAR10, 3.87),
    ("spikinghash_m", "CIFAR10", CIFAR10, 6.24),
    ("spikinghash_m", "UCF101-DVS", UCF101_DVS, 6.50),
    ("spikinghash_l", "UCF101-DVS", UCF101_DVS, 9.03),
    ("spikinghash_xl", "UCF101-DVS", UCF101_DVS, 11.3),
]


def count_params(name: str, **settings: object) -> int:
    """Number of trainable parameters of registered model ``name`` built with ``settings``."""
    model = create_model(name, **settings)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def param_table() -> list[ParamRow]:
    """Our count beside the paper's for every model the paper gives a count for."""
    return [
        ParamRow(name, dataset, count_params(name, **settings) / 1e6, paper)
        for name, dataset, settings, paper in PAPER_COUNTS
    ]


def main() -> None:
    print("| model | dataset (settings) | ours (M) | paper (M) | difference |")
    print("|---|---|---:|---:|---:|")
    for row in param_table():
        print(f"| {row.model} | {row.dataset} | {row.ours_m:.2f} | {row.paper_m:.2f} | {row.diff_pct:+.1f} % |")


if __name__ == "__main__":
    main()
