"""The training loop: LoRA + (SimPO + lambda * CE), read top to bottom.

Each optimizer step: set lr -> maybe evaluate on dev and checkpoint -> forward/backward over
``grad_accum`` micro-batches -> clip -> step -> log. ``accelerate`` owns the device and the
distributed setup, so ``accelerate launch`` runs DDP from its own config with no change here; on one
CPU it is a no-op. What differs between one process or DDP, FSDP and DeepSpeed ZeRO (wrapping, the
micro-step, clipping, the optimizer step, what a checkpoint holds) lives in an engine
(`train.engines`), picked from what the launcher's config asks for. Under several processes
(`torchrun` or `accelerate launch`, CPUs with gloo included: `lmm_apa.distributed`) each takes its
own micro-batches of a step (`train.steps`), so a step is the same global batch whatever the number
of processes; only the main process logs and saves. The data order is a pure function of (seed,
epoch), so a resumed run sees the same micro-batches an uninterrupted one would.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from lmm_apa.errors import ConfigError
from lmm_apa.train.checkpoint import latest_checkpoint
from lmm_apa.train.collate import Batch, collate, collate_slots, split_groups
from lmm_apa.train.config import RunConfig, TrainConfig
from lmm_apa.train.data import Example, build_datasets, load_features
from lmm_apa.train.engines import Engine, autocast, engine_class
from lmm_apa.train.log import MetricLogger
from lmm_apa.train.losses import objective, slot_logps, token_logps
from lmm_apa.train.parallel import gather_in_order
from lmm_apa.train.rank import rank_term
from lmm_apa.train.steps import StepPlan, dropout_seed, micro_batches

__all__ = [
    "TrainResult", "autocast", "build_model", "dropout_seed", "evaluate", "forward_loss", "loss_of_logits",
    "make_batch", "micro_batches", "stack_order", "stacked_batch", "train",
]  # fmt: skip


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


def make_batch(examples: list[Example], lmm: Any, with_rejected: bool) -> Batch:
    feats = [load_features(e.feats_path) for e in examples]
    make = collate_slots if examples[0].slot_positions is not None else collate
    return make(examples, feats, lmm.pad_token_id, with_rejected=with_rejected)


def stacked_batch(micro_batches: list[list[Example]], lmm: Any, with_rejected: bool) -> Batch:
    """Several micro-batches as one batch (one forward pass), each keeping its own loss
    (`forward_loss` on ``Batch.groups``); one micro-batch is `make_batch`'s batch as it is."""
    batch = make_batch([e for m in micro_batches for e in m], lmm, with_rejected)
    if len(micro_batches) > 1:
        batch.groups = torch.tensor([g for g, m in enumerate(micro_batches) for _ in m], dtype=torch.long)
    return batch


def stack_order(micro_batches: list[list[Example]], n: int) -> list[list[int]]:
    """The indices of a step's micro-batches, ``n`` a forward pass (`train.stack_micro_batches`),
    the shortest together: less padding, and the step's loss is a sum over its micro-batches in any
    order. ``n`` 1: one at a time, in order."""
    order = list(range(len(micro_batches)))
    if n > 1:
        order.sort(key=lambda i: max(_tokens(e) for e in micro_batches[i]))
    return [order[i : i + n] for i in range(0, len(order), n)]


def _tokens(e: Example) -> int:
    """The input row length of an example (its longest with teacher inputs, a row per answer)."""
    answers = [e.input_answer_ids] if e.input_answer_ids is not None else [e.chosen_ids, *e.rejected_ids]
    return len(e.prompt_ids) + max(len(a) for a in answers)


def forward_loss(lmm: Any, batch: Batch, cfg: RunConfig) -> tuple[torch.Tensor, dict[str, float]]:
    """One concatenated forward pass (chosen + rejected rows), then the loss on the answer tokens.

    With shared inputs (filler training) one row per utterance goes through the model, the logits
    are taken before the slots only, and every answer's label row reads its utterance's logits.
    A stacked batch (``batch.groups``: several micro-batches in one forward) returns the SUM of its
    micro-batches' losses, each computed as if alone, so the engine's division by ``grad_accum``
    gives the step the same loss and gradient as one forward per micro-batch; its metrics are their
    means.
    """
    if batch.positions is not None:
        logits = lmm.logits_at(
            batch.input_ids, batch.attention_mask, batch.audio_feats, batch.positions, batch.evidence_inputs
        )
    else:
        logits = lmm.forward(batch.input_ids, batch.attention_mask, batch.audio_feats)
    if batch.groups is None:
        return loss_of_logits(logits, batch, cfg, lmm.tokenizer)
    parts = [loss_of_logits(logits[rows], sub, cfg, lmm.tokenizer) for rows, sub in split_groups(batch)]
    return torch.stack([loss for loss, _ in parts]).sum(), mean_metrics([m for _, m in parts])


def loss_of_logits(
    logits: torch.Tensor, batch: Batch, cfg: RunConfig, tokenizer: Any
) -> tuple[torch.Tensor, dict[str, float]]:
    """The loss of one micro-batch from its model output: (B, K, V) logits at the slots of its input
    rows (shared inputs), else (N, L, V) logits of every row."""
    t = cfg.train
    shared = batch.positions is not None
    if shared:
        logps, mask = slot_logps(logits[batch.label_source], batch.labels)
    else:
        logps, mask = token_logps(logits, batch.labels)
    loss, metrics = objective(
        logps, mask, batch.n_chosen, batch.rejected_owner,
        t.loss_type, t.beta, t.gamma, t.ce_weight, t.label_smoothing,
    )  # fmt: skip
    if shared and t.rank_weight > 0:  # order of the expected scores, what SCC measures (train/rank.py)
        rank, rank_metrics = rank_term(logits, batch, tokenizer, t.rank_scale)
        loss = loss + t.rank_weight * rank
        metrics |= {**rank_metrics, "loss": loss.item()}
    return loss, metrics


def mean_metrics(records: list[dict[str, float]]) -> dict[str, float]:
    keys = records[0].keys()
    return {k: sum(r[k] for r in records) / len(records) for k in keys}


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


@dataclass
class _Run:
    """What the loop and its helpers share once set up: the process, the model and its engine, the
    data and its step arithmetic."""

    cfg: RunConfig
    accelerator: Any
    lmm: Any
    engine: Engine
    plan: StepPlan
    train_set: list[Example]
    dev_set: list[Example]
    precision: str

    @property
    def out(self) -> Path:
        return Path(self.cfg.train.output_dir)

    def batch(self, micros: list[int]) -> Batch:
        """Run-wide micro-batches ``micros`` as one batch (stacked if several), on this process's device."""
        examples = [[self.train_set[i] for i in self.plan.examples(m)] for m in micros]
        return stacked_batch(examples, self.lmm, self.cfg.train.loss_type != "ce").to(self.accelerator.device)

    def stacks(self, step: int) -> list[list[int]]:
        """This process's micro-batches of optimizer step ``step``, grouped by the forward passes
        that take them (`stack_order`)."""
        t = self.cfg.train
        micros = [self.plan.micro_index(step, k, self.accelerator.process_index) for k in range(t.grad_accum)]
        examples = [[self.train_set[i] for i in self.plan.examples(m)] for m in micros]
        return [[micros[i] for i in group] for group in stack_order(examples, t.stack_micro_batches)]

    def evaluate(self) -> dict[str, float]:
        acc, through = self.accelerator, self.engine.eval_through
        return evaluate(self.lmm, self.dev_set, self.cfg, acc.device, self.precision, acc, through)

    def checkpoint(self, step: int, scheduler: Any) -> None:
        """Every process calls this (sharded states are gathered); the main one writes."""
        state = {"scheduler": scheduler.state_dict(), "micro_batches_done": step * self.plan.micro_per_step}
        self.engine.save(self.out, step, state, self.cfg)


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
    from accelerate.utils import set_seed

    t = cfg.train
    run = _setup(cfg, lmm, progress)
    acc, engine, plan = run.accelerator, run.engine, run.plan
    scheduler = _scheduler(engine.optimizer, t, plan.total_steps)  # on the trainer's own AdamW
    engine.prepare()
    step, resumed_from = _resume(run, scheduler) if resume else (0, None)
    if acc.is_main_process:  # the precision as resolved: what ran
        resolved = dataclasses.replace(cfg, train=dataclasses.replace(t, precision=run.precision))
        resolved.save(run.out / "config.yaml")
    logger = MetricLogger(run.out, tensorboard=t.tensorboard, enabled=acc.is_main_process)

    start_step = step
    if (reseed := dropout_seed(t.seed, acc.process_index, step)) is not None:
        set_seed(reseed)
    bar = _progress(progress and acc.is_main_process, plan.total_steps, step)
    metrics: dict[str, float] = {}
    eval_metrics: dict[str, float] = {}
    run.lmm.model.train()
    end = plan.total_steps if stop_after is None else min(stop_after, plan.total_steps)
    while step < end:
        # 1. set lr (the scheduler is a function of the step; it moved on after the last step)
        lr = scheduler.get_last_lr()[0]

        # 2. maybe evaluate on dev, and checkpoint (not right after a resume: that was done before)
        if step != start_step and t.eval_every and step % t.eval_every == 0:
            eval_metrics = run.evaluate()
            logger.log(eval_metrics, step)
        if step != start_step and step % t.save_every == 0:
            run.checkpoint(step, scheduler)

        # 3. forward/backward over grad_accum micro-batches, this process's share of the step; the
        # engine makes the step's gradient the mean over all its micro-batches, on every process
        t0 = time.perf_counter()
        records = []
        stacks = run.stacks(step)
        for k, micros in enumerate(stacks):
            stack_metrics = engine.micro_step(run.batch(micros), sync=k == len(stacks) - 1)
            records += [(micro, stack_metrics) for micro in micros]  # a stack's are its means

        # 4. clip, step (under DeepSpeed the engine did both at the last micro-batch: these read it)
        grad_norm = engine.clip(t.max_grad_norm) if t.max_grad_norm > 0 else None
        engine.step()
        scheduler.step()
        step += 1

        # 5. log (TRL's names), the means over every process's micro-batches
        metrics = _step_metrics(run, records, lr, grad_norm, step, time.perf_counter() - t0)
        if step % t.log_every == 0 or step == plan.total_steps:
            logger.log(metrics, step)
        bar.update(step, metrics)

    bar.close()
    final, eval_metrics = _finish(run, scheduler, logger, step, start_step, eval_metrics)
    return TrainResult(run.out, final, step, resumed_from, metrics, eval_metrics, acc.is_main_process)


def _setup(cfg: RunConfig, lmm: Any, progress: bool) -> _Run:
    """The process (accelerate), the precision, the model, the data and the engine that trains it."""
    from accelerate.utils import set_seed

    from lmm_apa.models.precision import resolve_precision

    t = cfg.train
    engine_cls = engine_class()  # DeepSpeed and FSDP are opt-in: the launcher's config asks for them
    if t.stack_micro_batches > 1 and not engine_cls.stacks_micro_batches:
        raise ConfigError(f"train.stack_micro_batches > 1 is not supported by {engine_cls.__name__}")
    accelerator = engine_cls.make_accelerator()
    chosen = resolve_precision(t.precision, accelerator.device)
    accelerator.print(f"precision: {chosen}")
    set_seed(t.seed)  # before the LoRA init, so the same seed gives the same initial adapter
    lmm = lmm if lmm is not None else build_model(cfg)
    if chosen.name == "bf16" and engine_cls.frozen_in_bf16:
        frozen_to_bf16(lmm)
    lmm.model.to(accelerator.device)
    train_set, dev_set = _datasets(cfg, lmm, accelerator, progress)
    n_proc = accelerator.num_processes
    plan = StepPlan.of(len(train_set), t.batch_size, t.grad_accum, n_proc, t.seed, t.epochs, t.max_steps)
    engine = engine_cls(accelerator, lmm, functools.partial(forward_loss, lmm, cfg=cfg), t, chosen.name)
    accelerator.print(
        f"{n_proc} process(es), {accelerator.distributed_type.value}: a step is {plan.micro_per_step} "
        f"micro-batches of {t.batch_size} (grad-accum {t.grad_accum} x {n_proc})"
    )
    return _Run(cfg, accelerator, lmm, engine, plan, train_set, dev_set, chosen.name)


def _datasets(
    cfg: RunConfig, lmm: Any, accelerator: Any, progress: bool
) -> tuple[list[Example], list[Example]]:
    with accelerator.main_process_first():  # one process fills the feature cache, the others read it
        train_set, dev_set, stats = build_datasets(cfg, lmm, progress and accelerator.is_main_process)
    for name, s in stats.items():
        if s.skipped_too_long or s.truncated:
            accelerator.print(
                f"{name}: skipped {len(s.skipped_too_long)} utterances longer than data.max_length, "
                f"cut the answer end of {len(s.truncated)}"
            )
    return train_set, dev_set


def _scheduler(optimizer: torch.optim.Optimizer, t: TrainConfig, total_steps: int) -> Any:
    """The lr schedule, stepped by the loop once per optimizer step whatever the engine (accelerate
    would wrap a prepared one to step once per process at every optimizer step)."""
    from transformers import get_scheduler

    schedules = {"cosine": "cosine", "linear": "linear", "constant": "constant_with_warmup"}
    return get_scheduler(
        schedules[t.lr_schedule], optimizer, num_warmup_steps=math.ceil(t.warmup_ratio * total_steps),
        num_training_steps=total_steps,
    )  # fmt: skip


def _resume(run: _Run, scheduler: Any) -> tuple[int, Path | None]:
    """The step to go on from, and the checkpoint it was restored from (none yet: step 0)."""
    if (ckpt := latest_checkpoint(run.out)) is None:
        return 0, None
    state = run.engine.restore(ckpt)
    scheduler.load_state_dict(state["scheduler"])
    run.accelerator.print(f"resumed from {ckpt} at step {state['step']}/{run.plan.total_steps}")
    return state["step"], ckpt


def _step_metrics(
    run: _Run, records: list[tuple[int, dict[str, float]]], lr: float, grad_norm: Any, step: int, dt: float
) -> dict[str, float]:
    """The step's means over every process's micro-batches, and its pace (samples/s counts
    utterances, not rows)."""
    t, plan = run.cfg.train, run.plan
    metrics = mean_metrics(gather_in_order(run.accelerator, records))
    metrics |= {
        "lr": lr,
        "epoch": plan.epoch(step),
        "samples_per_s": t.batch_size * plan.micro_per_step / dt,
        "s_per_step": dt,
    }
    if grad_norm is not None:
        metrics["grad_norm"] = float(grad_norm)
    return metrics


def _finish(
    run: _Run, scheduler: Any, logger: MetricLogger, step: int, start_step: int,
    eval_metrics: dict[str, float],
) -> tuple[Path, dict[str, float]]:  # fmt: skip
    """Checkpoint the last step; if the run is complete (not stopped early on request), evaluate it
    first and save the final adapter. The final adapter's folder and the latest dev metrics."""
    complete = step == run.plan.total_steps
    if complete and run.dev_set:  # always evaluated: the loop's top only sees steps it will take
        eval_metrics = run.evaluate()
        logger.log(eval_metrics, step)
    if step != start_step:
        run.checkpoint(step, scheduler)
    if complete:
        _save_final(run)
    else:
        run.accelerator.wait_for_everyone()  # as at the end: no process leaves while another still saves
    logger.close()
    return run.out / "final", eval_metrics


def _save_final(run: _Run) -> None:
    """The trained adapter in ``output_dir/final``, with the run's config; every process calls this."""
    final = run.out / "final"
    trainable = run.engine.trainable_weights()  # gathered where the model holds shards of it
    if run.accelerator.is_main_process:
        data = run.cfg.data
        run.lmm.save_adapter(final, task=data.task, answer_inputs=data.answer_inputs, trainable=trainable)
        run.cfg.save(final / "config.yaml")
    run.accelerator.wait_for_everyone()  # no process returns before the adapter is there


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
