"""Multi-process training under ``torchrun``: environment, process group, batch gathering.

Launch: ``torchrun --nproc_per_node=N -m spikinghash.cli.main train ...`` (add
``--nnodes``/``--rdzv-endpoint`` for several machines). torchrun sets ``WORLD_SIZE``,
``RANK``, ``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``; without them the run
is a single process. The backend is NCCL on CUDA and Gloo on CPU.

How a DDP step equals a single-process step on the same global batch:

* ``batch_size`` is global; each of the W processes takes ``batch_size / W`` samples of
  every global batch (``DistributedSampler`` over the same per-epoch permutation).
* Pairwise losses need every pair of the global batch, so the per-sample outputs are
  gathered (:func:`gather_rows`): this process's rows stay live (with gradient), the
  others' arrive detached. Each process then computes the full pair loss, whose
  gradient reaches only its own rows; DDP averages gradients over W, so the trainer
  multiplies pair terms by W before ``backward`` to restore the full gradient.
* Per-sample terms (cross-entropy) are means over the local rows; DDP's average over W
  equal-sized shards is the mean over the global batch.
* BatchNorm statistics are per process unless converted to SyncBatchNorm, which torch
  supports on GPUs only: on CUDA the trainer converts them; on CPU (Gloo) each process
  normalises with its own shard's statistics, as plain DDP does.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import Tensor

from spikinghash.errors import ConfigError

_ENV = ("WORLD_SIZE", "RANK", "LOCAL_RANK")


@dataclass(frozen=True)
class DistEnv:
    """This process's place in the run: ``rank`` of ``world_size``, ``local_rank`` on its machine."""

    world_size: int = 1
    rank: int = 0
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """Only the main process writes files and shows progress."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def detect() -> DistEnv:
    """Read torchrun's environment variables (a single process when ``WORLD_SIZE`` is unset or 1)."""
    if "WORLD_SIZE" not in os.environ:
        return DistEnv()
    try:
        world, rank, local = (int(os.environ.get(k, "0")) for k in _ENV)
    except ValueError:
        raise ConfigError(f"{', '.join(_ENV)} must be integers; launch multi-process runs with torchrun") from None
    if world < 1 or not 0 <= rank < world or local < 0:
        raise ConfigError(f"WORLD_SIZE={world}, RANK={rank}, LOCAL_RANK={local} is not a valid process "
                          "layout; launch multi-process runs with torchrun")
    if world > 1 and not all(k in os.environ for k in ("RANK", "MASTER_ADDR", "MASTER_PORT")):
        raise ConfigError("WORLD_SIZE > 1 but RANK, MASTER_ADDR or MASTER_PORT is unset; "
                          "launch multi-process runs with torchrun")
    return DistEnv(world, rank, local)


def resolve_device(name: str, env: DistEnv) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; under torchrun CUDA means ``cuda:LOCAL_RANK``."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError("device=cuda but torch sees no GPU here; use device=cpu or device=auto")
        if env.local_rank >= torch.cuda.device_count():
            raise ConfigError(f"LOCAL_RANK={env.local_rank} but only {torch.cuda.device_count()} GPUs; "
                              "start at most one process per GPU")
        torch.cuda.set_device(env.local_rank)
        return torch.device("cuda", env.local_rank)
    return torch.device("cpu")


def autocast(device: torch.device) -> contextlib.AbstractContextManager:
    """bf16 autocast on CUDA; full fp32 on CPU (CPU bf16 is slow and changes results)."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def init_process_group(env: DistEnv, device: torch.device) -> bool:
    """Join the process group (NCCL on CUDA, Gloo on CPU); False when there is nothing to join."""
    if not env.distributed or dist.is_initialized():
        return False
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(backend, init_method="env://", world_size=env.world_size, rank=env.rank)
    return True


def shutdown(initialized: bool) -> None:
    """Leave the process group if :func:`init_process_group` joined it."""
    if initialized and dist.is_initialized():
        dist.destroy_process_group()


def gather_rows(t: Tensor, env: DistEnv) -> Tensor:
    """``[b, ...]`` local rows -> ``[W * b, ...]`` rows of all processes, in rank order.

    This process's block is ``t`` itself (gradient flows to it); the others are detached.
    """
    if not env.distributed:
        return t
    parts = [torch.empty_like(t) for _ in range(env.world_size)]
    dist.all_gather(parts, t.detach().contiguous())
    parts[env.rank] = t
    return torch.cat(parts)


def all_sum(t: Tensor, env: DistEnv) -> Tensor:
    """Elementwise sum of ``t`` over all processes (``t`` itself for one process)."""
    if env.distributed:
        t = t.clone()
        dist.all_reduce(t)
    return t


def gather_objects(obj: object, env: DistEnv) -> list[object]:
    """Every process's ``obj``, in rank order."""
    if not env.distributed:
        return [obj]
    out: list[object] = [None] * env.world_size
    dist.all_gather_object(out, obj)
    return out


def barrier(env: DistEnv) -> None:
    if env.distributed:
        dist.barrier()
