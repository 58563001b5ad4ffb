"""Checkpoints: save, find the latest, resume, keep the last k.

A checkpoint folder ``<output_dir>/checkpoints/step-0000050/`` holds
  adapter/           the LoRA adapter + projector (AudioLMM.save_adapter): usable for scoring as is
  trainer_state.pt   trainable weights, optimizer state, RNG states, step, data position
  config.yaml        the fully resolved run config
It is written under a temporary name and renamed when complete, so an interruption during a save
never leaves a half checkpoint for ``--resume`` to pick. What each way of training adds or gathers
first is its engine's (`train.engines`): FSDP's full states (`sharded.gather`), DeepSpeed's
engine files (``deepspeed/``, `zero.save_engine`).

Why not accelerate's ``save_state`` / ``load_state`` (checked against accelerate 1.16):
- One process and DDP: ``save_state`` writes the prepared model's whole state dict, the frozen
  backbone included (gigabytes a checkpoint for a 7B model, where ours hold the adapter only), and
  saves only the optimizers and schedulers it prepared. The trainer prepares neither on purpose: a
  prepared lr schedule steps once per process at every optimizer step, and the optimizer's steps
  are the loop's. Getting our contents out of it takes a weights-filtering save hook, a non-strict
  load, ``register_for_checkpointing`` and a new file layout, which resume, the tests and existing
  runs' checkpoints (``trainer_state.pt``) would all have to follow: a rewrite for no gain.
- FSDP: the trainer wraps FSDP 1 itself (accelerate wraps FSDP on GPUs only, `train.sharded`), so
  the wrapped model is not among accelerate's models and ``save_state`` would not save it.
- DeepSpeed: ``save_state`` calls the engine's ``save_checkpoint``, as `zero.save_engine` does; the
  rest of the trainer state (schedule, step, data position, the main process's RNG) is ours to keep
  in ``trainer_state.pt`` as on the other paths, so one reader resumes all three.
"""

from __future__ import annotations

import random
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lmm_apa.train.config import RunConfig

_NAME = re.compile(r"^step-(\d+)$")


def checkpoints_dir(output_dir: str | Path) -> Path:
    return Path(output_dir) / "checkpoints"


def list_checkpoints(output_dir: str | Path) -> list[Path]:
    """Complete checkpoints, oldest first."""
    d = checkpoints_dir(output_dir)
    if not d.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in d.iterdir() if (m := _NAME.match(p.name)) and p.is_dir()]
    return [p for _, p in sorted(found)]


def latest_checkpoint(output_dir: str | Path) -> Path | None:
    ckpts = list_checkpoints(output_dir)
    return ckpts[-1] if ckpts else None


def rng_state() -> dict[str, Any]:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def trainable_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {n: p.detach().cpu().clone() for n, p in model.named_parameters() if p.requires_grad}


def save_checkpoint(
    output_dir: str | Path,
    step: int,
    lmm: Any,
    optimizer: torch.optim.Optimizer,
    state: dict[str, Any],
    config: RunConfig,
    keep_last: int = 2,
    trainable: dict[str, torch.Tensor] | None = None,
    optimizer_state: dict[str, Any] | None = None,
    engine_state: Path | None = None,
) -> Path:
    """Write checkpoint ``step`` and delete all but the newest ``keep_last``; returns its folder.

    ``trainable`` / ``optimizer_state``: the full weights and optimizer state when the modules and
    the optimizer hold shards of them (FSDP: `sharded.gather`); else read from ``lmm`` and ``optimizer``.
    ``engine_state``: a folder the DeepSpeed engine wrote its sharded optimizer state to
    (`zero.save_engine`), moved into the checkpoint as ``deepspeed/`` before it is made complete.
    """
    final = checkpoints_dir(output_dir) / f"step-{step:07d}"
    tmp = final.with_name(final.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    lmm.save_adapter(
        tmp / "adapter", task=config.data.task, answer_inputs=config.data.answer_inputs, trainable=trainable
    )
    torch.save(
        {
            "step": step,
            "trainable": trainable if trainable is not None else trainable_state(lmm.model),
            "optimizer": optimizer_state if optimizer_state is not None else optimizer.state_dict(),
            "rng": rng_state(),
            **state,
        },
        tmp / "trainer_state.pt",
    )
    config.save(tmp / "config.yaml")
    if engine_state is not None:
        shutil.move(str(engine_state), str(tmp / "deepspeed"))
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    for old in list_checkpoints(output_dir)[:-keep_last]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def read_trainer_state(ckpt: str | Path) -> dict[str, Any]:
    # weights_only=False: the file holds numpy/python RNG states; it is our own file, not a download.
    return torch.load(Path(ckpt) / "trainer_state.pt", map_location="cpu", weights_only=False)


def load_checkpoint(
    ckpt: str | Path, lmm: Any, optimizer: torch.optim.Optimizer | None, weights: bool = True
) -> dict[str, Any]:
    """Restore trainable weights, optimizer and RNG states; return the saved trainer state.

    ``weights=False``, ``optimizer=None``: the RNG states only (DeepSpeed restores the weights and
    the optimizer state from its own files in the checkpoint, `zero.load_engine`).
    """
    state = read_trainer_state(ckpt)
    if not weights:
        set_rng_state(state["rng"])
        return state
    missing = set(state["trainable"]) - {n for n, _ in lmm.model.named_parameters()}
    if missing:
        raise ValueError(f"checkpoint {ckpt} has weights the model lacks, e.g. {sorted(missing)[:3]}")
    lmm.model.load_state_dict(state["trainable"], strict=False)
    if optimizer is not None:
        optimizer.load_state_dict(state["optimizer"])
    set_rng_state(state["rng"])
    return state
