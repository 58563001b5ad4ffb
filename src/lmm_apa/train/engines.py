"""One strategy object per way of training, so that `loop.train` reads the same for all of them.

An engine owns what differs between one process or DDP (`DDPEngine`), FSDP (`FSDPEngine`,
`train.sharded`) and DeepSpeed ZeRO (`DeepSpeedEngine`, `train.zero`):

  prepare()            wrap the model for training (DDP, FSDP, the DeepSpeed engine)
  restore(ckpt)        load a checkpoint's weights, optimizer and RNG states; the trainer state back
  micro_step(batch)    forward + backward of one micro-batch of a step
  clip(max_norm)       the step's gradient norm, clipped
  step()               the optimizer step, gradients cleared
  save(...)            write a checkpoint (every process calls it: sharded states are gathered)
  trainable_weights()  the full adapter weights to save, where the model holds shards of them

The loop keeps the lr schedule, the data order, evaluation and logging. Which engine runs is the
launcher's choice (``accelerate launch`` with a config of configs/accelerate/): `engine_class`.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any, ClassVar

import torch

from lmm_apa.train import sharded, zero
from lmm_apa.train.checkpoint import checkpoints_dir, load_checkpoint, save_checkpoint
from lmm_apa.train.config import RunConfig, TrainConfig
from lmm_apa.train.parallel import WrappedForward, check_supported


def autocast(precision: str, device: torch.device) -> Any:
    """bf16 autocast of the matmuls for ``precision`` "bf16" (a no-op for "fp32"): the trainable
    weights stay fp32 (the optimizer updates those), the losses upcast their logits
    (`losses.slot_logps`)."""
    return torch.autocast(torch.device(device).type, dtype=torch.bfloat16, enabled=precision == "bf16")


def engine_class() -> type[Engine]:
    """The engine the launcher asked for: DeepSpeed and FSDP are opt-in through its config."""
    if zero.deepspeed_requested():
        return DeepSpeedEngine
    return FSDPEngine if sharded.fsdp_requested() else DDPEngine


class Engine:
    """The strategy interface, and what every way of training shares: the optimizer (AdamW over the
    trainable weights) and the module whose forward is the whole loss (`WrappedForward`).

    ``loss_of(batch) -> (loss, metrics)``: the loss on the peft model ``lmm.model``.
    """

    # Whether the frozen matrices may be stored in bf16 under bf16 training (`loop.frozen_to_bf16`):
    # FSDP flattens a layer's weights into one tensor of one dtype; ZeRO-3 partitions them alike.
    frozen_in_bf16: ClassVar[bool] = True
    # Whether a micro-step may take several stacked micro-batches (`train.stack_micro_batches`),
    # their summed loss divided by ``grad_accum`` as one micro-batch's would be.
    stacks_micro_batches: ClassVar[bool] = True

    @staticmethod
    def make_accelerator() -> Any:
        from accelerate import Accelerator

        from lmm_apa.distributed import use_cpu_processes

        accelerator = Accelerator(cpu=use_cpu_processes())
        check_supported(accelerator)
        return accelerator

    def __init__(
        self, accelerator: Any, lmm: Any, loss_of: Callable[..., Any], t: TrainConfig, precision: str
    ) -> None:
        self.accelerator, self.lmm, self.precision = accelerator, lmm, precision
        self.grad_accum = t.grad_accum
        # lmm.model stays the peft model, so evaluating and saving use it as in one process.
        self.wrapped = WrappedForward(lmm.model, loss_of)
        # the module a training forward goes through: wrapped further by `prepare` (DDP, DeepSpeed)
        # or already here, before the optimizer is built on its parameters (FSDP)
        self.model: Any = self._wrap_before_optimizer(self.wrapped)
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer: Any = torch.optim.AdamW(self.params, lr=t.lr, weight_decay=t.weight_decay)

    def _wrap_before_optimizer(self, wrapped: WrappedForward) -> torch.nn.Module:
        return wrapped  # its parameters are lmm.model's, in lmm.model's order

    @property
    def device(self) -> torch.device:
        return self.accelerator.device

    @property
    def eval_through(self) -> Any:
        """The module evaluation's forward goes through; None: the loss on ``lmm`` itself."""
        return None

    def prepare(self) -> None:
        raise NotImplementedError

    def restore(self, ckpt: Path) -> dict[str, Any]:
        raise NotImplementedError

    def micro_step(self, batch: Any, sync: bool) -> dict[str, float]:
        raise NotImplementedError

    def clip(self, max_norm: float) -> Any:
        raise NotImplementedError

    def step(self) -> None:
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)

    def trainable_weights(self) -> dict[str, torch.Tensor] | None:
        """None: the weights are whole in ``lmm.model``, saved from there."""
        return None

    def _checkpoint_parts(self, output_dir: Path, step: int) -> dict[str, Any]:
        """`save_checkpoint`'s ``trainable`` / ``optimizer_state`` / ``engine_state`` where the engine
        holds them; {}: read from ``lmm`` and the optimizer."""
        return {}

    def save(self, output_dir: Path, step: int, state: dict[str, Any], cfg: RunConfig) -> None:
        """Checkpoint ``step`` with the loop's ``state`` (schedule, data position); every process
        calls this, the main one writes."""
        parts = self._checkpoint_parts(output_dir, step)
        if self.accelerator.is_main_process:
            keep = cfg.train.keep_last
            save_checkpoint(output_dir, step, self.lmm, self.optimizer, state, cfg, keep, **parts)
        self.accelerator.wait_for_everyone()


class DDPEngine(Engine):
    """One process, or DDP over several (CPU processes on gloo included): accelerate wraps DDP around
    `WrappedForward` (filler training calls the language model around lmm.model, so DDP around
    lmm.model alone would see no forward), or nothing in one process."""

    def prepare(self) -> None:
        self.model = self.accelerator.prepare_model(self.wrapped)

    def restore(self, ckpt: Path) -> dict[str, Any]:
        return load_checkpoint(ckpt, self.lmm, self.optimizer)

    def micro_step(self, batch: Any, sync: bool) -> dict[str, float]:
        # The loss is scaled so the step's gradient is the mean over its micro-batches. DDP syncs
        # gradients only on the last one and averages them over the processes: the mean over all the
        # step's micro-batches.
        with nullcontext() if sync else self.accelerator.no_sync(self.model):
            with autocast(self.precision, self.device):
                loss, metrics = self.model(batch)  # forward_loss, through the DDP wrapper
            # outside autocast, as torch advises: backward runs each op in its forward's dtype
            self.accelerator.backward(loss / self.grad_accum)
        return metrics

    def clip(self, max_norm: float) -> Any:
        return self.accelerator.clip_grad_norm_(self.params, max_norm)


class FSDPEngine(DDPEngine):
    """torch FSDP 1, wrapped by the trainer itself (`train.sharded`: accelerate wraps FSDP on GPUs
    only). Wrapped before the optimizer is built, which then holds the shards' parameters; evaluated,
    clipped and saved through the wrapper. The micro-step is DDP's: FSDP has ``no_sync`` too."""

    frozen_in_bf16 = False

    def __init__(
        self, accelerator: Any, lmm: Any, loss_of: Callable[..., Any], t: TrainConfig, precision: str
    ) -> None:
        self._names = [n for n, p in lmm.model.named_parameters() if p.requires_grad]  # gathered to save
        super().__init__(accelerator, lmm, loss_of, t, precision)

    def _wrap_before_optimizer(self, wrapped: WrappedForward) -> torch.nn.Module:
        return sharded.wrap(wrapped, self.lmm.model, self.device)

    @property
    def eval_through(self) -> Any:
        return self.model  # FSDP's forward gathers the weights its shards hold

    def prepare(self) -> None:
        pass  # wrapped before the optimizer was built

    def restore(self, ckpt: Path) -> dict[str, Any]:
        return sharded.load_checkpoint(ckpt, self.model, self.optimizer)

    def clip(self, max_norm: float) -> Any:
        return self.model.clip_grad_norm_(max_norm)  # the norm over every process's shards

    def trainable_weights(self) -> dict[str, torch.Tensor] | None:
        return sharded.gather(self.model, None, self._names, self.device).get("trainable")

    def _checkpoint_parts(self, output_dir: Path, step: int) -> dict[str, Any]:
        return sharded.gather(self.model, self.optimizer, self._names, self.device)


class DeepSpeedEngine(Engine):
    """DeepSpeed ZeRO (`train.zero`): the engine scales the loss by the accumulation, reduces, clips
    and steps the optimizer at the accumulation boundary, so a micro-step is DeepSpeed's own loop
    (``engine(batch)``, ``engine.backward``, ``engine.step()``) and the loop's clip and step only
    read what the engine did. The lr schedule stays the loop's: accelerate would wrap it to step once
    per process at every optimizer step."""

    frozen_in_bf16 = False
    # DeepSpeed counts its micro-steps to find the accumulation boundary: one a micro-batch.
    stacks_micro_batches = False

    @staticmethod
    def make_accelerator() -> Any:
        from accelerate import Accelerator

        accelerator = Accelerator(**zero.accelerator_kwargs())
        check_supported(accelerator)
        return accelerator

    def __init__(
        self, accelerator: Any, lmm: Any, loss_of: Callable[..., Any], t: TrainConfig, precision: str
    ) -> None:
        super().__init__(accelerator, lmm, loss_of, t, precision)
        self.stage = zero.configure(accelerator, t.batch_size, t.grad_accum, t.max_grad_norm)

    @property
    def eval_through(self) -> Any:
        return self.model  # ZeRO-3's engine gathers the weights it partitioned

    def prepare(self) -> None:
        # the engine takes the optimizer and steps it; the loop's scheduler keeps the AdamW's groups
        self.model, self.optimizer = self.accelerator.prepare(self.wrapped, self.optimizer)
        self.accelerator.print(f"DeepSpeed ZeRO-{self.stage}")

    def restore(self, ckpt: Path) -> dict[str, Any]:
        # the weights and the optimizer state are the engine's files; trainer_state.pt the RNG states
        state = load_checkpoint(ckpt, self.lmm, None, weights=False)
        zero.load_engine(self.model, ckpt)
        return state

    def micro_step(self, batch: Any, sync: bool) -> dict[str, float]:
        with autocast(self.precision, self.device):
            loss, metrics = self.model(batch)
        self.model.backward(loss)  # scaled by the accumulation inside the engine
        self.model.step()  # a no-op but at the accumulation boundary
        return metrics

    def clip(self, max_norm: float) -> Any:
        return self.model.get_global_grad_norm()  # the engine clipped in its step: the norm it clipped

    def step(self) -> None:
        pass  # the engine stepped and cleared the gradients at the last micro-batch

    def trainable_weights(self) -> dict[str, torch.Tensor] | None:
        return zero.gather_trainable(self.lmm.model, self.accelerator.is_main_process)

    def _checkpoint_parts(self, output_dir: Path, step: int) -> dict[str, Any]:
        # every process writes its shard of the optimizer state, then the main one the rest
        staging = checkpoints_dir(output_dir) / f"step-{step:07d}.{zero.ENGINE_DIR}"
        if self.accelerator.is_main_process:
            shutil.rmtree(staging, ignore_errors=True)
        self.accelerator.wait_for_everyone()
        parts = {
            "trainable": zero.gather_trainable(self.lmm.model, self.accelerator.is_main_process),
            "optimizer_state": {},
            "engine_state": zero.save_engine(self.model, staging),
        }
        self.accelerator.wait_for_everyone()
        return parts
