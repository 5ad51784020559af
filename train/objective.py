"""The training objective of each model family, assembled from the loss functions in ``train/``.

* Spiking hashing networks (Spikinghash and the Spikingformer baseline, which the paper
  trains "with settings and a hash layer consistent with Spikinghash"): Eq. 24,
  ``alpha * L_s + beta * L_cls``, with L_s the pair likelihood (Eq. 22) against M_soft
  from the dynamic soft similarity (Eqs. 19-21), or against M_hard when
  ``loss.soft_similarity`` is off.
* The classification variant of a spiking hashing network (``task=classify``): L_cls
  (Eq. 23) alone on the classifier over the pooled features (Sec. IV-C). The hash layer
  is frozen: no term reaches it.
* TransHash: its Cauchy pair and quantization losses per hash head (TransHash Eqs. 8-12)
  on the continuous codes. TransHash has no classification loss, so its classifier is
  frozen (no parameter outside the objective) and its train accuracy is not reported.

Terms are split by what they see: ``pair`` terms use every pair of the global batch
(gathered over processes), ``sample`` terms are means over this process's samples; see
``train/distributed.py`` for why the trainer treats them differently under DDP.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple, Protocol

from torch import Tensor, nn

from spikinghash.errors import ConfigError
from spikinghash.models.hash_net import SpikingHashNet
from spikinghash.models.outputs import HashOutput
from spikinghash.models.transhash import TransHash
from spikinghash.train.config import TrainConfig
from spikinghash.train.loss_classification import classification_loss, spikinghash_objective
from spikinghash.train.loss_pairwise import hard_similarity, pairwise_likelihood_loss
from spikinghash.train.loss_transhash import transhash_loss
from spikinghash.train.soft_similarity import DynamicSoftSimilarity


class LossTerms(NamedTuple):
    """Unweighted loss terms of one step: ``pair`` over the global batch, ``sample`` over local rows."""

    pair: dict[str, Tensor]
    sample: dict[str, Tensor]


class Objective(Protocol):
    """What the trainer needs from a model family's loss."""

    #: term name -> how an error message names it
    descriptions: dict[str, str]
    #: False when the objective never reads ``logits`` (no train accuracy then)
    uses_logits: bool

    def begin_epoch(self, epoch: int) -> None: ...

    def terms(self, local: HashOutput, labels: Tensor, glob: HashOutput, glob_labels: Tensor) -> LossTerms: ...

    def combine(self, terms: dict[str, Tensor]) -> Tensor:
        """The weighted total of the (possibly rescaled) terms; linear in each term."""
        ...

    def observe(self, glob: HashOutput, glob_labels: Tensor) -> None: ...

    def status(self) -> dict[str, float | None]: ...

    def state_dict(self) -> dict[str, Any] | None: ...

    def load_state_dict(self, state: dict[str, Any] | None) -> None: ...


class SpikinghashObjective:
    """Spikinghash Eq. 24 with the dynamic soft similarity (or M_hard when ``soft`` is None)."""

    descriptions = {"pair": "pairwise likelihood loss L_s (Eq. 22)", "cls": "classification loss L_cls (Eq. 23)"}
    uses_logits = True

    def __init__(self, alpha: float, beta: float, soft: DynamicSoftSimilarity | None) -> None:
        self.alpha, self.beta, self.soft = alpha, beta, soft

    def begin_epoch(self, epoch: int) -> None:
        if self.soft is not None:
            self.soft.begin_epoch(epoch)

    def terms(self, local: HashOutput, labels: Tensor, glob: HashOutput, glob_labels: Tensor) -> LossTerms:
        target = hard_similarity(glob_labels) if self.soft is None else self.soft.pair_similarity(glob_labels)
        return LossTerms(pair={"pair": pairwise_likelihood_loss(glob.code, target)},
                         sample={"cls": classification_loss(local.logits, labels)})

    def combine(self, terms: dict[str, Tensor]) -> Tensor:
        return spikinghash_objective(terms["pair"], terms["cls"], self.alpha, self.beta)

    def observe(self, glob: HashOutput, glob_labels: Tensor) -> None:
        if self.soft is not None:
            self.soft.observe(glob.mem, glob_labels, glob.logits)

    def status(self) -> dict[str, float | None]:
        """``soft_lambda``: the hard/soft blend of Eq. 21 this epoch (None without soft similarity)."""
        return {"soft_lambda": None if self.soft is None else self.soft.lam}

    def state_dict(self) -> dict[str, Any] | None:
        return None if self.soft is None else self.soft.state_dict()

    def load_state_dict(self, state: dict[str, Any] | None) -> None:
        if (state is None) != (self.soft is None):
            raise ConfigError("the checkpoint and the config disagree on loss.soft_similarity; "
                              "resume with the run's own config")
        if self.soft is not None and state is not None:
            self.soft.load_state_dict(state)


class _Stateless:
    """The hooks of an objective that keeps no state between steps (no epoch schedule, nothing to save)."""

    def begin_epoch(self, epoch: int) -> None:
        pass

    def observe(self, glob: HashOutput, glob_labels: Tensor) -> None:
        pass

    def status(self) -> dict[str, float | None]:
        return {}

    def state_dict(self) -> dict[str, Any] | None:
        return None

    def load_state_dict(self, state: dict[str, Any] | None) -> None:
        pass


class ClassificationObjective(_Stateless):
    """Sec. IV-C: the classification loss L_cls (Eq. 23) alone, on ``logits``."""

    descriptions = {"cls": "classification loss L_cls (Eq. 23)"}
    uses_logits = True

    def terms(self, local: HashOutput, labels: Tensor, glob: HashOutput, glob_labels: Tensor) -> LossTerms:
        return LossTerms(pair={}, sample={"cls": classification_loss(local.logits, labels)})

    def combine(self, terms: dict[str, Tensor]) -> Tensor:
        return terms["cls"]


class TransHashObjective(_Stateless):
    """TransHash Eqs. 11-12 over the model's hash heads, on M_hard."""

    descriptions = {"cauchy": "TransHash Cauchy loss (pair + lam * quantization, Eqs. 9-12)"}
    uses_logits = False

    def __init__(self, branches: list[slice], gamma: float, lam: float) -> None:
        self.branches, self.gamma, self.lam = branches, gamma, lam

    def terms(self, local: HashOutput, labels: Tensor, glob: HashOutput, glob_labels: Tensor) -> LossTerms:
        loss = transhash_loss(glob.mem, hard_similarity(glob_labels), self.branches, self.gamma, self.lam)
        return LossTerms(pair={"cauchy": loss}, sample={})

    def combine(self, terms: dict[str, Tensor]) -> Tensor:
        return terms["cauchy"]


def _spikinghash(model: nn.Module, cfg: TrainConfig, num_classes: int) -> Objective:
    if cfg.task == "classify":
        model.hash_head.requires_grad_(False)
        return ClassificationObjective()
    soft = DynamicSoftSimilarity(num_classes, cfg.epochs, cfg.loss.tau) if cfg.loss.soft_similarity else None
    return SpikinghashObjective(cfg.loss.alpha, cfg.loss.beta, soft)


def _transhash(model: nn.Module, cfg: TrainConfig, num_classes: int) -> Objective:
    model.classifier.requires_grad_(False)
    return TransHashObjective(list(model.hash_branches), cfg.loss.gamma, cfg.loss.lam)


#: Objective builders by model class (the most derived registered class wins).
OBJECTIVES: dict[type, Callable[[nn.Module, TrainConfig, int], Objective]] = {
    SpikingHashNet: _spikinghash,
    TransHash: _transhash,
}

#: Whether a family's objective trains its classifier (TransHash's stays at its initialisation).
TRAINS_CLASSIFIER: dict[type, bool] = {SpikingHashNet: True, TransHash: False}

#: Model build arguments each task needs (``train.trainer.build_model`` adds them).
TASK_MODEL_OPTIONS: dict[str, dict[str, Any]] = {
    "hash": {},
    "classify": {"classifier_input": "features"},  # Table VI's "Spikinghash-XL", not "(Hash)"
}


def task_model_options(cfg: TrainConfig) -> dict[str, Any]:
    """Build arguments for ``cfg.task``; refuses task=classify for the TransHash models (``transhash*``), whose
    builders would otherwise reject ``classifier_input`` with a message that does not name the task."""
    if cfg.task == "classify" and str(cfg.model).startswith("transhash"):
        raise ConfigError(f"task=classify needs a spiking hashing network, not {cfg.model}: TransHash has no "
                          "classification loss; use task=hash")
    return dict(TASK_MODEL_OPTIONS[cfg.task])


def classifier_trained(model: nn.Module) -> bool:
    """True when training ``model``'s family fits its classifier (its logits mean something)."""
    for cls in type(model).__mro__:
        if cls in TRAINS_CLASSIFIER:
            return TRAINS_CLASSIFIER[cls]
    return False


def build_objective(model: nn.Module, cfg: TrainConfig, num_classes: int) -> Objective:
    """The objective for ``model``'s family; freezes parameters the objective never reaches."""
    for cls in type(model).__mro__:
        if cls in OBJECTIVES:
            return OBJECTIVES[cls](model, cfg, num_classes)
    raise ConfigError(f"no training objective for model class {type(model).__name__}; "
                      f"train one of the families {', '.join(c.__name__ for c in OBJECTIVES)}")
