"""Several processes, one job: which process this is, and work shared out and gathered back in order.

A launcher (`torchrun`, `accelerate launch`, a cluster scheduler running either) starts one copy of
`lmm-apa` per process and tells each its place in ``RANK`` / ``WORLD_SIZE``; `accelerate` turns that
into a process group. Everything here is a no-op for a plain single-process run, which never
imports `accelerate` or touches `torch.distributed`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, TypeVar

T = TypeVar("T")


def launched_world_size() -> int:
    """How many processes the launcher started (1 when run directly)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def use_cpu_processes() -> bool:
    """True when several processes were launched on a machine without a GPU.

    `accelerate` makes a gloo process group of CPU processes only when told ``cpu=True``; without it
    each process under `torchrun` (or `accelerate launch --multi_gpu`, which runs torchrun) takes
    itself for rank 0 of 1, and every one of them logs, saves and scores everything.
    """
    import torch

    return launched_world_size() > 1 and not torch.cuda.is_available()


def process_state() -> Any:
    """`accelerate.PartialState` for this process (the process group is set up on first use)."""
    from accelerate import PartialState

    return PartialState(cpu=use_cpu_processes())


def close_process_group() -> None:
    """Barrier, then tear the process group down before the interpreter exits.

    Left to interpreter shutdown, gloo's threads can be destroyed while still joinable, and a
    process dies with SIGABRT ("terminate called without an active exception") after its work is
    done: the launcher then reports the whole job failed. A no-op in a single process.
    """
    if launched_world_size() == 1:
        return
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


class Workers:
    """This process's place among the launched ones, for work that splits by item (scoring).

    ``Workers()`` in a single process is rank 0 of 1 and never starts a process group.
    """

    def __init__(self) -> None:
        self._state = process_state() if launched_world_size() > 1 else None
        self.rank = self._state.process_index if self._state else 0
        self.world = self._state.num_processes if self._state else 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def my_chunks(self, items: Sequence[T], chunk: int) -> list[tuple[int, list[T]]]:
        """(start, items) of the ``chunk``-sized pieces of ``items`` this process does, round robin.

        Whole chunks, cut where a single process cuts them: a chunk is scored as one batch (sorted
        by length, padded), so each recording's scores are the ones a single process gives it.
        """
        starts = range(0, len(items), chunk)
        return [(s, list(items[s : s + chunk])) for i, s in enumerate(starts) if i % self.world == self.rank]

    def gather(self, mine: list[tuple[int, T]]) -> list[T]:
        """Every process's ``(position, result)`` pairs, as one list in position order (on every process)."""
        if self.world == 1:
            return [r for _, r in sorted(mine, key=lambda x: x[0])]
        from accelerate.utils import gather_object

        return [r for _, r in sorted(gather_object(mine), key=lambda x: x[0])]

    def wait(self) -> None:
        """Barrier: the main process has finished writing before any process exits."""
        if self._state is not None:
            self._state.wait_for_everyone()
