"""FSDP for `loop.train`, driven by `engines.FSDPEngine`: opt-in, when the launcher asks for it
(``accelerate launch`` with a config whose ``distributed_type`` is ``FSDP``, e.g.
configs/accelerate/gpu_fsdp.yaml).

The trainer wraps with torch's FSDP itself, with the settings `accelerate launch` put in the
environment (read by accelerate's own ``FullyShardedDataParallelPlugin``): accelerate turns FSDP on
only for GPUs (on CPUs it makes a MULTI_CPU state and would wrap DDP), so one code path serves both,
and the one that runs here on gloo CPU processes is the one that runs on GPUs.

What FSDP changes for the engine (torch's FSDP docs): the optimizer is built on the wrapped model's
parameters, gradients are clipped by the root's ``clip_grad_norm_`` (the norm over every process's
shards), and the weights and the optimizer state are gathered into full state dicts to be saved
(and scattered back on resume). Wrapping is PEFT's recommended policy for LoRA
(``peft.utils.other.fsdp_auto_wrap_policy``): each trainable leaf (LoRA A/B, the projectors' linear
layers) its own unit, then every transformer layer class of ``fsdp_transformer_layer_cls_to_wrap``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

ROOT = "model."  # `WrappedForward` registers the peft model as ``model``: the prefix of every FSDP name


def fsdp_requested() -> bool:
    """True when the launcher asked for FSDP (accelerate's own flag, set by ``accelerate launch``)."""
    return os.environ.get("ACCELERATE_USE_FSDP", "false").lower() in ("1", "true", "yes")


def plugin() -> Any:
    """accelerate's FSDP settings from the environment, checked against what this trainer drives."""
    from accelerate import FullyShardedDataParallelPlugin

    p = FullyShardedDataParallelPlugin()
    problems = []
    if p.fsdp_version != 1:
        problems.append(f"fsdp_version {p.fsdp_version} (the trainer drives FSDP 1)")
    if os.environ.get("FSDP_AUTO_WRAP_POLICY", "TRANSFORMER_BASED_WRAP") != "TRANSFORMER_BASED_WRAP":
        problems.append("an fsdp_auto_wrap_policy other than TRANSFORMER_BASED_WRAP (PEFT's LoRA policy)")
    if os.environ.get("ACCELERATE_MIXED_PRECISION", "no") != "no":
        problems.append("mixed_precision (lmm-apa autocasts itself: train.precision)")
    if p.activation_checkpointing or p.cpu_ram_efficient_loading:
        problems.append("fsdp_activation_checkpointing / fsdp_cpu_ram_efficient_loading (not wired)")
    if problems:
        raise ValueError("lmm-apa train under FSDP does not take " + "; ".join(problems))
    return p


def wrap(module: torch.nn.Module, peft_model: torch.nn.Module, device: torch.device) -> Any:
    """``module`` (a `WrappedForward` around ``peft_model``) sharded over the processes."""
    from peft.utils.other import fsdp_auto_wrap_policy
    from torch.distributed.fsdp import FullyShardedDataParallel as FSDP

    p = plugin()
    return FSDP(
        module,
        sharding_strategy=p.sharding_strategy,
        auto_wrap_policy=fsdp_auto_wrap_policy(peft_model),  # reads FSDP_TRANSFORMER_CLS_TO_WRAP
        cpu_offload=p.cpu_offload,
        backward_prefetch=p.backward_prefetch,
        forward_prefetch=p.forward_prefetch,
        limit_all_gathers=p.limit_all_gathers,
        use_orig_params=p.use_orig_params,
        sync_module_states=p.sync_module_states,
        # accelerate names a CPU process's device cpu:0, which FSDP finds inconsistent with "cpu"
        device_id=torch.device("cpu") if torch.device(device).type == "cpu" else device,
    )


def _full_state(model: Any, device: torch.device, rank0_only: bool) -> Any:
    """FSDP's full (gathered) state dict context for weights and optimizer state.

    Not offloaded to CPU when the model is on CPU already: torch 2.13's FSDP segfaults gathering
    a CPU model with ``offload_to_cpu=True`` (found here, 2 gloo processes).
    """
    from torch.distributed.fsdp import FullOptimStateDictConfig, FullStateDictConfig, StateDictType
    from torch.distributed.fsdp import FullyShardedDataParallel as FSDP

    offload = torch.device(device).type != "cpu"
    return FSDP.state_dict_type(
        model,
        StateDictType.FULL_STATE_DICT,
        FullStateDictConfig(offload_to_cpu=offload, rank0_only=rank0_only),
        FullOptimStateDictConfig(offload_to_cpu=offload, rank0_only=rank0_only),
    )


def gather(
    model: Any, optimizer: torch.optim.Optimizer | None, names: list[str], device: torch.device
) -> dict[str, Any]:
    """The full trainable weights (by the peft model's parameter names) and, with ``optimizer``, its
    full state, on the main process (``{}`` elsewhere). Every process must call this: it gathers.

    The frozen weights are gathered too (FSDP has no per-parameter gather), a unit at a time, and
    dropped: what is kept is the adapter.
    """
    from torch.distributed.fsdp import FullyShardedDataParallel as FSDP

    with _full_state(model, device, rank0_only=True):
        full = model.state_dict()
        optim = FSDP.optim_state_dict(model, optimizer) if optimizer is not None else None
    if not full:  # not the main process
        return {}
    out: dict[str, Any] = {"trainable": {n: full[ROOT + n].detach().cpu().clone() for n in names}}
    if optimizer is not None:
        out["optimizer_state"] = optim
    return out


def load_checkpoint(ckpt: str | Path, model: Any, optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """`checkpoint.load_checkpoint` for an FSDP model: every process reads the full checkpoint and
    FSDP keeps its shards of the weights and of the optimizer state."""
    from torch.distributed.fsdp import FullyShardedDataParallel as FSDP

    from lmm_apa.train.checkpoint import read_trainer_state, set_rng_state

    state = read_trainer_state(ckpt)
    device = next(model.parameters()).device
    with _full_state(model, device, rank0_only=False):
        _, extra = model.load_state_dict({ROOT + n: v for n, v in state["trainable"].items()}, strict=False)
        if extra:
            raise ValueError(f"checkpoint {ckpt} has weights the model lacks, e.g. {sorted(extra)[:3]}")
        optimizer.load_state_dict(FSDP.optim_state_dict_to_load(model, optimizer, state["optimizer"]))
    set_rng_state(state["rng"])
    return state
