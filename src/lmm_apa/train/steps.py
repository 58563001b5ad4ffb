"""The step arithmetic of `loop.train`: which micro-batches make up each optimizer step.

Every optimizer step takes ``grad_accum`` micro-batches on each of ``n_proc`` processes, so a step is
the same global batch whatever the number of processes: process ``rank`` takes micro-batches
``rank, rank + n_proc, ...`` of the step. The data order is a pure function of (seed, epoch), so a
resumed run sees the micro-batches an uninterrupted one would.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import torch


@functools.lru_cache(maxsize=2)
def micro_batches(n: int, batch_size: int, seed: int, epoch: int) -> list[list[int]]:
    """Example indices of each micro-batch of one epoch: a seeded shuffle, cut into batches."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 1000 + epoch)).tolist()
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


def dropout_seed(seed: int, rank: int, step: int) -> int | None:
    """The seed of process ``rank``'s dropout masks from ``step`` on; None for the main process, which
    keeps the run's random state (a checkpoint restores it, so a resumed run is the uninterrupted one).
    The others would draw the main process's masks (the same seed, or the restored state, on each):
    each draws its own, and after a resume not those it drew at step 1 (its state is not saved)."""
    return None if rank == 0 else seed + 7919 * rank + 104729 * step


@dataclass(frozen=True)
class StepPlan:
    """How ``n_examples`` in micro-batches of ``batch_size`` map onto optimizer steps."""

    n_examples: int
    batch_size: int
    grad_accum: int
    n_proc: int
    seed: int
    total_steps: int

    @classmethod
    def of(
        cls, n_examples: int, batch_size: int, grad_accum: int, n_proc: int, seed: int,
        epochs: float, max_steps: int | None,
    ) -> StepPlan:  # fmt: skip
        """``max_steps`` when set, else as many steps as ``epochs`` passes over the data take (the last
        one rounded up)."""
        micro_per_epoch = math.ceil(n_examples / batch_size)
        total = max_steps or math.ceil(epochs * micro_per_epoch / (grad_accum * n_proc))
        return cls(n_examples, batch_size, grad_accum, n_proc, seed, total)

    @property
    def micro_per_epoch(self) -> int:
        return math.ceil(self.n_examples / self.batch_size)

    @property
    def micro_per_step(self) -> int:
        return self.grad_accum * self.n_proc

    def micro_index(self, step: int, k: int, rank: int) -> int:
        """The run-wide index of process ``rank``'s ``k``-th micro-batch of optimizer step ``step``."""
        return step * self.micro_per_step + k * self.n_proc + rank

    def examples(self, micro: int) -> list[int]:
        """The example indices of run-wide micro-batch ``micro`` (epochs follow one another)."""
        epoch, j = divmod(micro, self.micro_per_epoch)
        return micro_batches(self.n_examples, self.batch_size, self.seed, epoch)[j]

    def epoch(self, step: int) -> float:
        """Epochs done after ``step`` optimizer steps."""
        return step * self.micro_per_step / self.micro_per_epoch
