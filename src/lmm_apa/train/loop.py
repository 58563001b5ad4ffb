"""The training loop: LoRA + (SimPO + lambda * CE), read top to bottom.

Each optimizer step: set lr -> maybe evaluate on dev and checkpoint -> forward/backward over
``grad_accum`` micro-batches -> clip -> step -> log. ``accelerate`` owns the device and the
distributed setup, so ``accelerate launch`` runs DDP from its own config with no change here; on one
CPU it is a no-op. Under several processes (`torchrun` or `accelerate launch`, CPUs with gloo
included: `lmm_apa.distributed`) each takes its own micro-batches of a step, so a step is the same
global batch whatever the number of processes; only the main process logs and saves. FSDP, when
the launcher's config asks for it, is wrapped by `train.sharded`; DeepSpeed ZeRO, likewise, is built
by accelerate and driven through its engine (`train.zero`). The data order is a pure
function of (seed, epoch), so a resumed run sees the same micro-batches an uninterrupted one would.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import shutil
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from lmm_apa.train.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from lmm_apa.train.collate import Batch, collate, collate_slots
from lmm_apa.train.config import RunConfig
from lmm_apa.train.data import Example, build_datasets, load_features
from lmm_apa.train.log import MetricLogger
from lmm_apa.train.losses import objective, slot_logps, training_loss
from lmm_apa.train.parallel import WrappedForward, check_supported, gather_in_order
from lmm_apa.train.rank import rank_term


@dataclass
class TrainResult:
    output_dir: Path
    final_adapter: Path
    steps: int
    resumed_from: Path | None
    last_metrics: dict[str, float]
    eval_metrics: dict[str, float]
    main_process: bool = True  # under several processes, whether this one is the main one


def build_model(cfg: RunConfig) -> Any:
    """The backbone with a fresh LoRA (or ``adapter_init``), in the configured dtype."""
    from lmm_apa.models.backbone import load_backbone
    from lmm_apa.models.lora import LoraSettings

    m = cfg.model
    dtype = None if m.dtype == "auto" else getattr(torch, m.dtype)
    lmm = load_backbone(m.backbone, adapter=m.adapter_init, dtype=dtype, trainable=True)
    if m.adapter_init is None:
        lmm.add_lora(LoraSettings(rank=m.lora_rank, alpha=m.lora_alpha, dropout=m.lora_dropout))
        if cfg.data.evidence != "none":
            from lmm_apa.align.evidence_scorer import EvidenceScorer
            from lmm_apa.align.head import DEFAULT_HEAD
            from lmm_apa.tasks.slot_evidence import input_width

            width = input_width(cfg.data.evidence, EvidenceScorer.load(DEFAULT_HEAD))
            lmm.add_evidence_projector(width, kind=cfg.data.evidence)
    return lmm


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


def make_batch(examples: list[Example], lmm: Any, with_rejected: bool) -> Batch:
    feats = [load_features(e.feats_path) for e in examples]
    make = collate_slots if examples[0].slot_positions is not None else collate
    return make(examples, feats, lmm.pad_token_id, with_rejected=with_rejected)


def forward_loss(lmm: Any, batch: Batch, cfg: RunConfig) -> tuple[torch.Tensor, dict[str, float]]:
    """One concatenated forward pass (chosen + rejected rows), then the loss on the answer tokens.

    With shared inputs (filler training) one row per utterance goes through the model, the logits
    are taken before the slots only, and every answer's label row reads its utterance's logits.
    """
    t = cfg.train
    if batch.positions is not None:
        logits = lmm.logits_at(
            batch.input_ids, batch.attention_mask, batch.audio_feats, batch.positions, batch.evidence_inputs
        )
        logps, mask = slot_logps(logits[batch.label_source], batch.labels)
        loss, metrics = objective(
            logps, mask, batch.n_chosen, batch.rejected_owner,
            t.loss_type, t.beta, t.gamma, t.ce_weight, t.label_smoothing,
        )  # fmt: skip
        if t.rank_weight > 0:  # order of the expected scores, what SCC measures (train/rank.py)
            rank, rank_metrics = rank_term(logits, batch, lmm.tokenizer, t.rank_scale)
            loss = loss + t.rank_weight * rank
            metrics |= {**rank_metrics, "loss": loss.item()}
        return loss, metrics
    logits = lmm.forward(batch.input_ids, batch.attention_mask, batch.audio_feats)
    return training_loss(
        logits, batch.labels, batch.n_chosen, batch.rejected_owner,
        t.loss_type, t.beta, t.gamma, t.ce_weight, t.label_smoothing,
    )  # fmt: skip


def mean_metrics(records: list[dict[str, float]]) -> dict[str, float]:
    keys = records[0].keys()
    return {k: sum(r[k] for r in records) / len(records) for k in keys}


def autocast(precision: str, device: torch.device):
    """bf16 autocast of the matmuls for ``precision`` "bf16" (a no-op for "fp32"): the trainable
    weights stay fp32 (the optimizer updates those), the losses upcast their logits
    (`losses.slot_logps`)."""
    return torch.autocast(torch.device(device).type, dtype=torch.bfloat16, enabled=precision == "bf16")


def frozen_to_bf16(lmm: Any) -> None:
    """Store the language model's frozen matrices (its linear layers' base weights, embeddings, LM
    head) in bf16: under autocast every op would otherwise cast them again, at every micro-batch.
    LoRA, the projector and the norms stay fp32."""
    for module in [*lmm._hf.model.language_model.modules(), lmm._hf.lm_head]:
        for p in module.parameters(recurse=False):
            if not p.requires_grad and p.dim() == 2:
                p.data = p.data.to(torch.bfloat16)


@torch.no_grad()
def evaluate(
    lmm: Any,
    dev: list[Example],
    cfg: RunConfig,
    device: torch.device,
    precision: str = "fp32",
    accelerator: Any = None,
    loss_of: Any = None,
) -> dict[str, float]:
    """Mean dev metrics, ``eval_``-prefixed as TRL names them (dropout off).

    With ``accelerator`` over several processes each evaluates every n-th example and the means are
    over all of them (every process must call this). ``loss_of(batch)``: the loss through a wrapper
    whose forward gathers the weights (FSDP); else `forward_loss` on ``lmm`` itself.
    """
    if not dev:
        return {}
    rank, n_proc = (accelerator.process_index, accelerator.num_processes) if accelerator else (0, 1)
    lmm.model.eval()
    records = []
    for i in range(rank, len(dev), n_proc):
        batch = make_batch([dev[i]], lmm, cfg.train.loss_type != "ce").to(device)
        with autocast(precision, device):
            records.append((i, (loss_of(batch) if loss_of else forward_loss(lmm, batch, cfg))[1]))
    lmm.model.train()
    records = gather_in_order(accelerator, records) if accelerator else [m for _, m in records]
    return {f"eval_{k}": v for k, v in mean_metrics(records).items()}


def train(
    cfg: RunConfig,
    resume: bool = False,
    lmm: Any = None,
    progress: bool = True,
    stop_after: int | None = None,
) -> TrainResult:
    """Train per ``cfg``; with ``resume``, continue from the latest checkpoint in ``output_dir``.

    ``lmm``: an already loaded backbone with its LoRA (else built from ``cfg.model``).
    ``stop_after``: end this invocation once ``stop_after`` optimizer steps are done in total, with a
    checkpoint but no final adapter, as an interruption would (the schedule still spans the whole
    run); a later ``resume=True`` call carries on.
    """
    from accelerate import Accelerator
    from accelerate.utils import set_seed
    from transformers import get_scheduler

    from lmm_apa.distributed import use_cpu_processes
    from lmm_apa.train import sharded, zero

    t = cfg.train
    out = Path(t.output_dir)
    ds = zero.deepspeed_requested()  # opt-in, as FSDP: the launcher's config asks for it
    accelerator = Accelerator(**zero.accelerator_kwargs()) if ds else Accelerator(cpu=use_cpu_processes())
    check_supported(accelerator)
    from lmm_apa.models.precision import resolve_precision

    chosen = resolve_precision(t.precision, accelerator.device)
    accelerator.print(f"precision: {chosen}")
    precision = chosen.name
    fsdp = sharded.fsdp_requested()  # opt-in: the launcher's config asks for it (train/sharded.py)
    set_seed(t.seed)  # before the LoRA init, so the same seed gives the same initial adapter
    lmm = lmm if lmm is not None else build_model(cfg)
    # FSDP flattens a layer's weights into one tensor of one dtype; ZeRO-3 partitions them alike
    if precision == "bf16" and not fsdp and not ds:
        frozen_to_bf16(lmm)
    lmm.model.to(accelerator.device)
    with accelerator.main_process_first():  # one process fills the feature cache, the others read it
        train_set, dev_set, stats = build_datasets(cfg, lmm, progress and accelerator.is_main_process)
    for name, s in stats.items():
        if s.skipped_too_long or s.truncated:
            accelerator.print(
                f"{name}: skipped {len(s.skipped_too_long)} utterances longer than data.max_length, "
                f"cut the answer end of {len(s.truncated)}"
            )

    # Step arithmetic: every optimizer step takes grad_accum micro-batches on each process.
    n_proc, rank = accelerator.num_processes, accelerator.process_index
    micro_per_epoch = math.ceil(len(train_set) / t.batch_size)
    micro_per_step = t.grad_accum * n_proc
    total_steps = t.max_steps or math.ceil(t.epochs * micro_per_epoch / micro_per_step)
    with_rejected = t.loss_type != "ce"
    stage = zero.configure(accelerator, t.batch_size, t.grad_accum, t.max_grad_norm) if ds else None
    accelerator.print(
        f"{n_proc} process(es), {accelerator.distributed_type.value}: a step is {micro_per_step} "
        f"micro-batches of {t.batch_size} (grad-accum {t.grad_accum} x {n_proc})"
    )

    # Under several processes DDP wraps a module whose forward is the whole loss (`WrappedForward`:
    # filler training calls the language model around lmm.model). lmm.model stays the peft model,
    # so evaluating and saving use it as in one process. FSDP wraps it before the optimizer is built
    # (on the wrapped parameters), and is evaluated, clipped and saved through the wrapper.
    loss_of = functools.partial(forward_loss, lmm, cfg=cfg)
    trainable: list[str] = []  # FSDP: the names of the weights gathered to save the adapter
    if fsdp:
        trainable = [n for n, p in lmm.model.named_parameters() if p.requires_grad]
        model = sharded.wrap(WrappedForward(lmm.model, loss_of), lmm.model, accelerator.device)
    params = [p for p in (model if fsdp else lmm.model).parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=t.lr, weight_decay=t.weight_decay)
    schedules = {"cosine": "cosine", "linear": "linear", "constant": "constant_with_warmup"}
    scheduler = get_scheduler(
        schedules[t.lr_schedule], optimizer, num_warmup_steps=math.ceil(t.warmup_ratio * total_steps),
        num_training_steps=total_steps,
    )  # fmt: skip
    step, resumed_from = 0, None
    if resume and (ckpt := latest_checkpoint(out)) is not None:
        if fsdp:
            state = sharded.load_checkpoint(ckpt, model, optimizer)
        elif ds:  # the weights and the optimizer state are the engine's, restored once it is built
            state = load_checkpoint(ckpt, lmm, None, weights=False)
        else:
            state = load_checkpoint(ckpt, lmm, optimizer)
        scheduler.load_state_dict(state["scheduler"])
        step, resumed_from = state["step"], ckpt
        accelerator.print(f"resumed from {ckpt} at step {step}/{total_steps}")
    # DeepSpeed: the engine takes the optimizer and steps it (train/zero.py). The schedule stays the
    # loop's: accelerate would wrap it to step once per process at every optimizer step.
    if ds:
        model, optimizer = accelerator.prepare(WrappedForward(lmm.model, loss_of), optimizer)
        if resumed_from is not None:
            zero.load_engine(model, resumed_from)
        accelerator.print(f"DeepSpeed ZeRO-{stage}")
    elif not fsdp:
        model = accelerator.prepare_model(WrappedForward(lmm.model, loss_of))
    # FSDP's forward gathers the weights its shards hold, ZeRO-3's engine the weights it partitioned
    through = model if fsdp or ds else None
    evaluate_ = functools.partial(
        evaluate, lmm, dev_set, cfg, accelerator.device, precision, accelerator, through
    )
    if ds:  # the engine clipped in its step; this reads the norm it clipped
        clip = lambda _max_norm: model.get_global_grad_norm()  # noqa: E731
    else:
        clip = model.clip_grad_norm_ if fsdp else functools.partial(accelerator.clip_grad_norm_, params)
    if accelerator.is_main_process:  # the precision as resolved: what ran
        resolved = dataclasses.replace(cfg, train=dataclasses.replace(t, precision=precision))
        resolved.save(out / "config.yaml")
    logger = MetricLogger(out, tensorboard=t.tensorboard, enabled=accelerator.is_main_process)

    def checkpoint() -> None:
        full = sharded.gather(model, optimizer, trainable, accelerator.device) if fsdp else {}
        if ds:  # every process writes its shard of the optimizer state, then the main one the rest
            staging = out / "checkpoints" / f"step-{step:07d}.{zero.ENGINE_DIR}"
            if accelerator.is_main_process:
                shutil.rmtree(staging, ignore_errors=True)
            accelerator.wait_for_everyone()
            full = {
                "trainable": zero.gather_trainable(lmm.model, accelerator.is_main_process),
                "optimizer_state": {},
                "engine_state": zero.save_engine(model, staging),
            }
            accelerator.wait_for_everyone()
        if accelerator.is_main_process:
            save_checkpoint(
                out, step, lmm, optimizer,
                {"scheduler": scheduler.state_dict(), "micro_batches_done": step * micro_per_step},
                cfg, t.keep_last, **full,
            )  # fmt: skip
        accelerator.wait_for_everyone()

    start_step = step
    if (reseed := dropout_seed(t.seed, rank, step)) is not None:
        set_seed(reseed)
    bar = _progress(progress and accelerator.is_main_process, total_steps, step)
    metrics: dict[str, float] = {}
    eval_metrics: dict[str, float] = {}
    lmm.model.train()
    end = total_steps if stop_after is None else min(stop_after, total_steps)
    while step < end:
        # 1. set lr (the scheduler is a function of the step; it moved on after the last step)
        lr = scheduler.get_last_lr()[0]

        # 2. maybe evaluate on dev, and checkpoint (not right after a resume: that was done before)
        if step != start_step and t.eval_every and step % t.eval_every == 0:
            eval_metrics = evaluate_()
            logger.log(eval_metrics, step)
        if step != start_step and step % t.save_every == 0:
            checkpoint()

        # 3. forward/backward over grad_accum micro-batches; the loss is scaled so the step's
        # gradient is the mean over its micro-batches. DDP syncs gradients only on the last one, and
        # averages them over the processes: the mean over all the step's micro-batches.
        t0 = time.perf_counter()
        records = []
        for k in range(t.grad_accum):
            micro = step * micro_per_step + k * n_proc + rank
            epoch, j = divmod(micro, micro_per_epoch)
            ids = micro_batches(len(train_set), t.batch_size, t.seed, epoch)[j]
            batch = make_batch([train_set[i] for i in ids], lmm, with_rejected).to(accelerator.device)
            sync = k == t.grad_accum - 1
            if ds:  # DeepSpeed's loop: the engine scales by grad_accum and steps at the boundary
                with autocast(precision, accelerator.device):
                    loss, m = model(batch)
                model.backward(loss)
                model.step()
            else:
                with accelerator.no_sync(model) if not sync else nullcontext():
                    with autocast(precision, accelerator.device):
                        loss, m = model(batch)  # forward_loss, through the DDP wrapper
                    # outside autocast, as torch advises: backward runs each op in its forward's dtype
                    accelerator.backward(loss / t.grad_accum)
            records.append((micro, m))

        # 4. clip, step (under DeepSpeed the engine did both at the last micro-batch: these are no-ops)
        grad_norm = clip(t.max_grad_norm) if t.max_grad_norm > 0 else None
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1

        # 5. log (TRL's names), the means over every process's micro-batches; samples/s counts
        # utterances, not rows
        dt = time.perf_counter() - t0
        metrics = mean_metrics(gather_in_order(accelerator, records))
        metrics |= {
            "lr": lr,
            "epoch": (step * micro_per_step) / micro_per_epoch,
            "samples_per_s": t.batch_size * micro_per_step / dt,
            "s_per_step": dt,
        }
        if grad_norm is not None:
            metrics["grad_norm"] = float(grad_norm)
        if step % t.log_every == 0 or step == total_steps:
            logger.log(metrics, step)
        bar.update(step, metrics)

    bar.close()
    if step < total_steps:  # stopped early on request: checkpoint, no final adapter
        if step != start_step:
            checkpoint()
        accelerator.wait_for_everyone()  # as at the end: no process leaves while another still saves
        logger.close()
        main = accelerator.is_main_process
        return TrainResult(out, out / "final", step, resumed_from, metrics, eval_metrics, main)
    # The last step is always evaluated and saved (the loop's top only sees steps it will take).
    if dev_set:
        eval_metrics = evaluate_()
        logger.log(eval_metrics, step)
    if step != start_step:
        checkpoint()
    final = out / "final"
    full = sharded.gather(model, None, trainable, accelerator.device) if fsdp else {}
    if ds:
        full = {"trainable": zero.gather_trainable(lmm.model, accelerator.is_main_process)}
    if accelerator.is_main_process:
        lmm.save_adapter(
            final, task=cfg.data.task, answer_inputs=cfg.data.answer_inputs, trainable=full.get("trainable")
        )
        cfg.save(final / "config.yaml")
    accelerator.wait_for_everyone()  # no process returns before the adapter is there
    logger.close()
    return TrainResult(out, final, step, resumed_from, metrics, eval_metrics, accelerator.is_main_process)


class _progress:
    """A rich progress bar with ETA and the latest loss (silent when disabled)."""

    def __init__(self, enabled: bool, total: int, start: int) -> None:
        self._bar = None
        if not enabled:
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._bar = Progress(
            TextColumn("train"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
            TextColumn("{task.fields[info]}"),
        )  # fmt: skip
        self._bar.start()
        self._task = self._bar.add_task("train", total=total, completed=start, info="")

    def update(self, step: int, metrics: dict[str, float]) -> None:
        if self._bar is not None:
            info = f"loss {metrics['loss']:.4f}  {metrics['samples_per_s']:.2f} utt/s"
            self._bar.update(self._task, completed=step, info=info)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
