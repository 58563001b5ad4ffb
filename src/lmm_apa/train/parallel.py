"""The trainer's side of several processes: what DDP (or FSDP, `sharded`) wraps, metrics over all
processes, what is refused.

`loop.train` runs unchanged in one process; under a launcher every process runs it on its own
micro-batches (`train.steps`), DDP averages the gradients, and the metrics of a
step are those of all its micro-batches, whichever process ran them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch


class WrappedForward(torch.nn.Module):
    """The module handed to ``accelerator.prepare_model``: it owns ``model``'s parameters and its
    forward is ``fn`` (the whole loss).

    DDP averages gradients only for a backward whose forward went through its own ``forward``.
    `AudioLMM.logits_at` (filler training) calls the language model's modules directly, around
    ``lmm.model``, so DDP wrapped around ``lmm.model`` alone would see no forward and average nothing:
    each process would train its own adapter.
    """

    def __init__(self, model: torch.nn.Module, fn: Callable[..., Any]) -> None:
        super().__init__()
        self.model = model  # registered: DDP broadcasts and averages exactly these parameters
        self._fn = fn

    def forward(self, *args: Any) -> Any:
        return self._fn(*args)


def gather_in_order(accelerator: Any, mine: list[tuple[int, dict[str, float]]]) -> list[dict[str, float]]:
    """Every process's ``(position, metrics)`` records, in position order.

    Position order is the order one process would have produced them in, so means over the result
    are summed in the same order as a single-process run sums them.
    """
    if accelerator.num_processes > 1:
        from accelerate.utils import gather_object

        mine = gather_object(mine)
    return [m for _, m in sorted(mine, key=lambda x: x[0])]


def check_supported(accelerator: Any) -> None:
    """Refuse the engines this trainer does not drive, before any work is done.

    `train.engines` drives DDP, FSDP (`sharded`) and DeepSpeed through its engine (`zero`);
    accelerate's other distributed types (XLA, Megatron-LM) are not wired.
    """
    from accelerate.utils import DistributedType

    kind = accelerator.distributed_type
    known = (DistributedType.NO, DistributedType.MULTI_CPU, DistributedType.MULTI_GPU, DistributedType.FSDP)
    if kind not in (*known, DistributedType.DEEPSPEED):
        raise ValueError(
            f"lmm-apa train runs in one process or under DDP, FSDP or DeepSpeed, not {kind.value}: "
            "launch with a config of configs/accelerate/ or torchrun (README: Scaling)"
        )
