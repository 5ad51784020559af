"""Dynamic soft similarity S_soft between classes (Spikinghash Sec. III-F, Eqs. 19-21).

Training is cut into rounds. During a round, every pair of *correctly classified*
samples of a batch adds the cosine similarity of their hash neurons' time-averaged
membrane potentials to its class pair (Eq. 19). At the end of the round the sums are
divided by their counts, values not above ``tau`` are zeroed (Eq. 20), and the result
supervises the next round blended with the hard class similarity (Eq. 21); sums and
counts then start again from zero.

Decisions where the paper is silent (all documented here and in the README):

* Rounds (:func:`round_starts`): the paper's schedule for 200 epochs is scaled to the
  run: an initial round of 25 % of the epochs (paper: 50), then rounds of 10 % (paper:
  20), and one round per epoch over the last 10 % (paper: 20). Rounds keep their grid
  from the end of the initial round, so the grid round that would overlap the final
  stretch is cut short there: for 200 epochs the rounds start at 0, 50, 70, ..., 150,
  170 (10 epochs, 170-179) and at every epoch 180..199.
* lambda (:func:`blend_weight`): 1 throughout the initial round, then falling linearly
  *per epoch* to exactly 0 in the last epoch: ``lambda(e) = (E - 1 - e) / (E - e0)``
  for ``e >= e0`` (``e0`` = first epoch after the initial round). The first soft epoch
  already uses ``1 - 1/(E - e0)``, so no soft round is wasted at lambda = 1.
* Statistics are gathered from the very first epoch, so the initial round (supervised
  by M_hard since lambda = 1) yields the first S_soft.
* Only pairs ``i != j`` count in Eq. 19: a sample's similarity with itself is always 1
  and would pull every same-class entry towards 1.
* A class pair with no correctly classified pair in a round keeps its value from the
  previous round (initially S_hard: 1 on the diagonal, 0 elsewhere), which retains
  information across rounds as the paper intends, instead of resetting to zero.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from spikinghash.errors import ConfigError

# Spikinghash Sec. IV "Other experimental setting": 200 epochs, initial round of 50,
# rounds of 20, one round per epoch over the final 20.
PAPER_EPOCHS, PAPER_INITIAL, PAPER_ROUND, PAPER_FINAL = 200, 50, 20, 20


def _scaled(num_epochs: int, paper_value: int) -> int:
    """``paper_value * num_epochs / PAPER_EPOCHS`` rounded half up, in exact integers."""
    return (2 * num_epochs * paper_value + PAPER_EPOCHS) // (2 * PAPER_EPOCHS)


def initial_round_epochs(num_epochs: int) -> int:
    """Length of the initial (M_hard) round for a run of ``num_epochs`` (at least 1)."""
    if num_epochs < 1:
        raise ConfigError(f"num_epochs={num_epochs} must be at least 1")
    return max(1, _scaled(num_epochs, PAPER_INITIAL))


def round_starts(num_epochs: int) -> list[int]:
    """0-based epochs at which a round of S_soft starts, the paper's schedule scaled.

    For ``num_epochs=200``: ``[0, 50, 70, 90, 110, 130, 150, 170, 180, 181, ..., 199]``.
    """
    initial = initial_round_epochs(num_epochs)
    length = max(1, _scaled(num_epochs, PAPER_ROUND))
    final_start = num_epochs - min(_scaled(num_epochs, PAPER_FINAL), num_epochs - initial)
    later = [e for e in range(initial, num_epochs) if (e - initial) % length == 0 or e >= final_start]
    return [0, *later]


def blend_weight(epoch: int, num_epochs: int) -> float:
    """lambda of Eq. 21 for 0-based ``epoch``: 1 in the initial round, then linear to 0 at the last epoch."""
    first_soft = initial_round_epochs(num_epochs)
    if first_soft >= num_epochs:
        return 1.0
    return min(1.0, max(0.0, (num_epochs - 1 - epoch) / (num_epochs - first_soft)))


def class_pair_cosines(mem: Tensor, labels: Tensor, num_classes: int) -> tuple[Tensor, Tensor]:
    """Sums and counts of Eq. 19 for one batch of correctly classified samples.

    Args:
        mem: ``[n, L]`` time-averaged membrane potentials of the hash neurons.
        labels: ``[n]`` their classes.
        num_classes: ``C``.

    Returns:
        ``([C, C] float64 sum of r_ij, [C, C] int64 count)`` over ordered pairs ``i != j``.
    """
    unit = F.normalize(mem.detach().double(), dim=1)
    r = unit @ unit.T
    r.fill_diagonal_(0.0)
    onehot = F.one_hot(labels, num_classes).double()
    not_self = 1.0 - torch.eye(len(labels), dtype=torch.float64, device=mem.device)
    # Eq. 19: s_{y_i y_j} += r_ij and k_{y_i y_j} += 1, for all pairs at once.
    sums = onehot.T @ r @ onehot
    counts = (onehot.T @ not_self @ onehot).round().long()
    return sums, counts


def filter_similarity(s: Tensor, tau: float) -> Tensor:
    """Eq. 20: keep ``s_ij`` where it exceeds ``tau``, else 0. ``s`` ``[C, C]``, shape kept.

    The diagonal (same-class similarity) is never filtered: a class whose mean cosine
    fell below ``tau`` would otherwise get target 0 for its own pairs and, once lambda
    reaches 0 (Eq. 21), be trained to spread its codes apart. The paper meant the
    filter against inter-class noise; this exemption is our choice (README, "Training").
    """
    keep = (s > tau) | torch.eye(s.shape[0], dtype=torch.bool, device=s.device)
    return torch.where(keep, s, torch.zeros_like(s))


def blend_similarity(s_hard: Tensor, s_soft: Tensor, lam: float) -> Tensor:
    """Eq. 21: ``lam * S_hard + (1 - lam) * S_soft``, all ``[C, C]``."""
    return lam * s_hard + (1.0 - lam) * s_soft


class DynamicSoftSimilarity:
    """Stateful S_soft over a training run (Spikinghash Eqs. 19-21).

    Use: ``begin_epoch(e)`` at the start of every epoch (closes a round when ``e``
    starts a new one), ``observe(out.mem, labels, out.logits)`` after each training
    batch, ``pair_similarity(labels)`` for the ``[B, B]`` target M_soft of Eq. 22.
    ``state_dict()`` holds only tensors (loadable with ``torch.load(weights_only=True)``).
    """

    def __init__(self, num_classes: int, num_epochs: int, tau: float) -> None:
        if num_classes < 2:
            raise ConfigError(f"soft similarity needs at least 2 classes, got {num_classes}")
        self.num_classes = num_classes
        self.num_epochs = num_epochs
        self.tau = float(tau)
        self.starts = round_starts(num_epochs)
        self.epoch = -1
        self.sums = torch.zeros(num_classes, num_classes, dtype=torch.float64)
        self.counts = torch.zeros(num_classes, num_classes, dtype=torch.int64)
        self.soft = torch.eye(num_classes, dtype=torch.float64)

    @property
    def lam(self) -> float:
        """Current lambda of Eq. 21 (1 before the first epoch)."""
        return blend_weight(max(self.epoch, 0), self.num_epochs)

    def begin_epoch(self, epoch: int) -> None:
        """Enter 0-based ``epoch``, closing every round that starts after the last epoch seen."""
        if not 0 <= epoch < self.num_epochs or epoch < self.epoch:
            raise ConfigError(
                f"soft similarity epoch {epoch} is outside 0..{self.num_epochs - 1} or before "
                f"epoch {self.epoch} already seen; resume with the run's own epoch count"
            )
        for start in self.starts:
            if self.epoch < start <= epoch and start > 0:
                self._close_round()
        self.epoch = epoch

    def _close_round(self) -> None:
        seen = self.counts > 0
        mean = self.sums / self.counts.clamp_min(1)
        self.soft = filter_similarity(torch.where(seen, mean, self.soft), self.tau)
        self.sums.zero_()
        self.counts.zero_()

    def observe(self, mem: Tensor, labels: Tensor, logits: Tensor) -> None:
        """Add the correctly classified samples of a batch: mem ``[B, L]``, labels ``[B]``, logits ``[B, C]``."""
        correct = logits.detach().argmax(dim=1) == labels
        sums, counts = class_pair_cosines(mem[correct], labels[correct], self.num_classes)
        self.sums += sums.cpu()
        self.counts += counts.cpu()

    def class_similarity(self) -> Tensor:
        """``[C, C]`` float32 S of Eq. 21 for the current epoch."""
        hard = torch.eye(self.num_classes, dtype=torch.float64)
        return blend_similarity(hard, self.soft, self.lam).float()

    def pair_similarity(self, labels: Tensor) -> Tensor:
        """M_soft ``[B, B]`` with ``m'_ij = S[y_i, y_j]``, on the labels' device."""
        s = self.class_similarity().to(labels.device)
        return s[labels][:, labels]

    def state_dict(self) -> dict[str, Tensor]:
        return {
            "sums": self.sums.clone(), "counts": self.counts.clone(), "soft": self.soft.clone(),
            "epoch": torch.tensor(self.epoch), "num_epochs": torch.tensor(self.num_epochs),
            "tau": torch.tensor(self.tau, dtype=torch.float64),
        }

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        c = self.num_classes
        if state["soft"].shape != (c, c):
            raise ConfigError(
                f"checkpoint soft similarity is for {state['soft'].shape[0]} classes, not {c}; "
                "resume with the dataset it was trained on"
            )
        if int(state["num_epochs"]) != self.num_epochs or float(state["tau"]) != self.tau:
            raise ConfigError(
                f"checkpoint soft similarity was made for {int(state['num_epochs'])} epochs and "
                f"tau={float(state['tau'])}; resume with those settings"
            )
        self.sums = state["sums"].to(torch.float64).clone()
        self.counts = state["counts"].to(torch.int64).clone()
        self.soft = state["soft"].to(torch.float64).clone()
        self.epoch = int(state["epoch"])
