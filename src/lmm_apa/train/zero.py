"""DeepSpeed ZeRO for `loop.train`, driven by `engines.DeepSpeedEngine`: opt-in, when the launcher
asks for it (``accelerate launch`` with a config whose ``distributed_type`` is ``DEEPSPEED``:
configs/accelerate/gpu_zero2.yaml, gpu_zero3.yaml).

DeepSpeed's engine owns what `DDPEngine` and `FSDPEngine` do themselves: the backward's scaling by the
gradient accumulation, the gradient reduction (ZeRO-2: reduce-scattered to the process that owns that
slice of the optimizer state), the clipping, the optimizer and the lr-scheduler step. DeepSpeed's own
training loop is ``loss = engine(batch); engine.backward(loss); engine.step()`` at every micro-batch,
the engine counting micro-batches to the accumulation boundary; `DeepSpeedEngine.micro_step` runs that.
accelerate builds the engine (``accelerator.prepare`` with the trainer's AdamW); the loop keeps
stepping its own lr schedule, whose changes reach the engine's optimizer through the shared parameter
groups (prepared by accelerate, a LambdaLR would be stepped once per process at every step). This
module fills the DeepSpeed config's batch arithmetic from ``train.*``, gathers ZeRO-3's partitioned
trainable weights to save the adapter, and writes and reads the engine's sharded optimizer state
inside a trainer checkpoint.

Under ZeRO-3 the backbone is partitioned as it loads: accelerate registers the DeepSpeed config with
transformers, whose ``from_pretrained`` then builds under ``deepspeed.zero.Init`` whatever
``zero3_init_flag`` says, so a 7B model is never whole in one process.

On a machine without a GPU DeepSpeed runs on its CPU accelerator over gloo (DeepSpeed falls back to
gloo without Intel's oneCCL): that is how tests/train/test_deepspeed_train.py checks the GPU configs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

ENGINE_DIR = "deepspeed"  # a checkpoint's subfolder with the engine's (sharded) optimizer state
_TAG = "engine"


def deepspeed_requested() -> bool:
    """True when the launcher asked for DeepSpeed (accelerate's own flag, set by ``accelerate launch``)."""
    return os.environ.get("ACCELERATE_USE_DEEPSPEED", "false").lower() in ("1", "true", "yes")


def accelerator_kwargs() -> dict[str, Any]:
    """`Accelerator` arguments for a DeepSpeed run.

    Not ``cpu=True`` on CPU processes: accelerate then makes a plain MULTI_CPU state and DeepSpeed is
    silently dropped. Without CUDA accelerate finds no backend of its own, so gloo is named.
    """
    if torch.cuda.is_available():
        return {}
    from accelerate.utils import InitProcessGroupKwargs

    return {"kwargs_handlers": [InitProcessGroupKwargs(backend="gloo")]}


def configure(accelerator: Any, batch_size: int, grad_accum: int, max_grad_norm: float) -> int:
    """Set the DeepSpeed config's batch arithmetic and clipping from ``train.*``; returns the ZeRO stage.

    The trainer's config is the source of truth: a step is ``grad_accum`` micro-batches of
    ``batch_size`` on every process, the same arithmetic as under DDP, and the engine clips at
    ``max_grad_norm``. Settings this trainer does not drive are refused before any work is done.
    """
    plugin = accelerator.state.deepspeed_plugin
    ds = plugin.deepspeed_config
    zero = ds.get("zero_optimization", {})
    problems = []
    if os.environ.get("ACCELERATE_MIXED_PRECISION", "no") != "no" or any(
        ds.get(k, {}).get("enabled") in (True, "true") for k in ("fp16", "bf16")
    ):
        problems.append("mixed_precision / fp16 / bf16 (lmm-apa autocasts itself: train.precision)")
    for key in ("offload_optimizer", "offload_param"):
        if zero.get(key, {}).get("device", "none") not in ("none", None):
            problems.append(f"{key} (DeepSpeed's CPU Adam is not wired)")
    if ds.get("optimizer") or ds.get("scheduler"):
        problems.append("an optimizer or scheduler in the DeepSpeed config (the trainer's own are used)")
    if problems:
        raise ValueError("lmm-apa train under DeepSpeed does not take " + "; ".join(problems))
    ds["train_micro_batch_size_per_gpu"] = batch_size
    ds["gradient_accumulation_steps"] = grad_accum
    ds["train_batch_size"] = batch_size * grad_accum * accelerator.num_processes
    ds["gradient_clipping"] = max_grad_norm
    return int(zero.get("stage", plugin.zero_stage))


def gather_trainable(peft_model: torch.nn.Module, is_main: bool) -> dict[str, torch.Tensor]:
    """The full trainable weights by the peft model's names, on the main process (``{}`` elsewhere).

    Under ZeRO-3 each process holds a slice of every weight; DeepSpeed gathers them for the block.
    Under ZeRO-1/2 the weights are whole on every process and the gather is a no-op. Every process
    must call this.
    """
    import deepspeed

    named = [(n, p) for n, p in peft_model.named_parameters() if p.requires_grad]
    with deepspeed.zero.GatheredParameters([p for _, p in named], modifier_rank=None):
        return {n: p.detach().cpu().clone() for n, p in named} if is_main else {}


def save_engine(engine: Any, staging: Path) -> Path:
    """The engine's optimizer state (each process writes its own shard) and trainable weights, in
    ``staging`` (a fresh folder); every process must call this. The frozen weights are left out: they
    are the backbone."""
    engine.save_checkpoint(str(staging), tag=_TAG, exclude_frozen_parameters=True)
    return staging


def load_engine(engine: Any, ckpt: Path) -> None:
    """Restore the trainable weights and the optimizer state from checkpoint ``ckpt`` (written by
    `save_engine`), every process its own shard. The lr schedule is the loop's (its trainer state)."""
    folder = Path(ckpt) / ENGINE_DIR
    if not folder.is_dir():
        raise ValueError(f"checkpoint {ckpt} has no {ENGINE_DIR}/ folder: it was not written under DeepSpeed")
    engine.load_checkpoint(
        str(folder), tag=_TAG, load_module_strict=False, load_optimizer_states=True,
        load_lr_scheduler_states=False,
    )  # fmt: skip
