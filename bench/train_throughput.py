"""Training throughput and peak memory per backbone and task, on this machine.

    .venv/bin/python bench/train_throughput.py --backbone default --tasks multi,sentence,word,phone

Each task runs in its own process (so its peak RSS is its own): load the backbone with a fresh LoRA,
build N real Speechocean762 utterances (features cached), then time ``--warmup`` + ``--steps``
optimizer steps of the real training step (one concatenated chosen+rejected forward, backward,
clip, AdamW) at batch 1 x grad-accum ``--grad-accum``. ``--answer-inputs filler`` times filler
training instead (one shared row per utterance, logits before the slots only; see DESIGN.md).
Writes JSON and a markdown table.

``--compare-stacked`` times today's step and the stacked one (``train.stack_micro_batches``: the
step's micro-batches in one forward pass) in ONE process, on a training config as it runs (default
configs/cpu_listen.yaml, its precision resolved and its frozen matrices in bf16 as the loop stores
them), the two alternating on the same utterances so that both see the same load; writes
bench/results/train_throughput_stacked.{json,md}:

    OMP_NUM_THREADS=2 .venv/bin/python bench/train_throughput.py --compare-stacked --warmup 1 --steps 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

TASKS = ("multi", "sentence", "word", "phone")


def run_one(args: argparse.Namespace) -> dict:
    import torch

    from lmm_apa.train.config import load_config
    from lmm_apa.train.data import build_datasets
    from lmm_apa.train.loop import build_model, forward_loss, make_batch

    if args.threads:
        torch.set_num_threads(args.threads)
    micro = args.grad_accum * (args.warmup + args.steps)
    cfg = load_config(
        None,
        [
            f"model.backbone={args.backbone}",
            f"data.task={args.task}",
            f"data.limit={min(micro, args.utterances)}",
            "data.dev_fraction=0.1",
            "data.dev_limit=1",
            f"data.n_rejected={args.n_rejected}",
            f"data.answer_inputs={args.answer_inputs}",
        ],
    )
    torch.manual_seed(0)
    t0 = time.perf_counter()
    lmm = build_model(cfg)
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    train_set, _, _ = build_datasets(cfg, lmm)
    features_s = time.perf_counter() - t0
    device = lmm.device
    params = lmm.trainable_parameters()
    optimizer = torch.optim.AdamW(params, lr=1e-4)
    lmm.model.train()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    times, cpu_times, tokens = [], [], []
    for s in range(args.warmup + args.steps):
        t0, c0 = time.perf_counter(), time.process_time()
        for k in range(args.grad_accum):
            example = train_set[(s * args.grad_accum + k) % len(train_set)]
            batch = make_batch([example], lmm, with_rejected=True).to(device)
            loss, _ = forward_loss(lmm, batch, cfg)
            (loss / args.grad_accum).backward()
            tokens.append(int(batch.attention_mask.sum()))
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
        cpu_times.append(time.process_time() - c0)
    timed = times[args.warmup :]
    s_per_step = sum(timed) / len(timed)
    # Wall time grows with whatever else shares the cores; CPU seconds much less so (with --threads 1
    # hardly at all: no threads spin waiting for each other). Idle 2-core wall ~ 1-thread CPU s / 2.
    cpu_per_utt = sum(cpu_times[args.warmup :]) / len(timed) / args.grad_accum
    out = {
        "backbone": args.backbone,
        "task": args.task,
        "device": str(device),
        "threads": torch.get_num_threads(),
        "grad_accum": args.grad_accum,
        "n_rejected": args.n_rejected,
        "answer_inputs": args.answer_inputs,
        "steps_timed": len(timed),
        "s_per_step": round(s_per_step, 3),
        "s_per_utt": round(s_per_step / args.grad_accum, 3),
        "samples_per_s": round(args.grad_accum / s_per_step, 3),
        "cpu_s_per_utt": round(cpu_per_utt, 3),
        "load_avg_1min": round(os.getloadavg()[0], 2),
        "tokens_per_row": round(sum(tokens) / len(tokens) / (1 + args.n_rejected), 1),
        "load_s": round(load_s, 1),
        "features_s_per_utt": round(features_s / len(train_set), 3),
        # ru_maxrss is in KiB on Linux: this process's peak, which is why each task has its own process.
        "peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
        "trainable_params": sum(p.numel() for p in params),
    }
    if device.type == "cuda":
        out["cuda_max_allocated_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    return out


def model_and_examples(config: str, limit: int, extra: tuple[str, ...] = ()) -> tuple:
    """(config, backbone with a fresh LoRA, ``limit`` training examples, precision name) as the
    trainer builds them, seeded: what the step benches time."""
    import torch

    from lmm_apa.models.precision import resolve_precision
    from lmm_apa.train.config import load_config
    from lmm_apa.train.data import build_datasets
    from lmm_apa.train.loop import build_model, frozen_to_bf16

    cfg = load_config(config, [f"data.limit={limit}", "data.dev_fraction=0.1", "data.dev_limit=1", *extra])
    precision = resolve_precision(cfg.train.precision, torch.device("cpu")).name
    torch.manual_seed(0)
    lmm = build_model(cfg)
    if precision == "bf16":
        frozen_to_bf16(lmm)
    train_set, _, _ = build_datasets(cfg, lmm)
    return cfg, lmm, train_set, precision


def compare_stacked(args: argparse.Namespace) -> dict:
    """Seconds a step of one forward per micro-batch against the stacked step, alternating."""
    import torch

    from lmm_apa.train.config import load_config

    if args.threads:
        torch.set_num_threads(args.threads)
    base = load_config(args.config)
    n_steps = args.warmup + args.steps
    limit = base.train.batch_size * base.train.grad_accum * n_steps
    cfg, lmm, train_set, precision = model_and_examples(args.config, limit)
    params = lmm.trainable_parameters()
    optimizer = torch.optim.AdamW(params, lr=cfg.train.lr)
    lmm.model.train()
    stacks = {"one forward per micro-batch": 1, "stacked": args.stack or cfg.train.grad_accum}
    times: dict[str, list[float]] = {name: [] for name in stacks}
    cpu: dict[str, list[float]] = {name: [] for name in stacks}
    loads = []
    for s in range(n_steps):
        micros = _step_micro_batches(train_set, cfg, s)
        order = list(stacks) if s % 2 == 0 else list(stacks)[::-1]  # neither always runs first
        for name in order:
            t0, c0 = time.perf_counter(), time.process_time()
            _one_step(lmm, cfg, micros, stacks[name], params, optimizer, precision)
            times[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)
        loads.append(os.getloadavg()[0])
    rows = []
    for name, stack in stacks.items():
        timed, cpu_timed = times[name][args.warmup :], cpu[name][args.warmup :]
        rows.append(
            {
                "step": name,
                "stack_micro_batches": stack,
                "s_per_step": round(sum(timed) / len(timed), 2),
                "s_per_step_each": [round(t, 2) for t in timed],
                "cpu_s_per_step": round(sum(cpu_timed) / len(cpu_timed), 2),
            }
        )
    ratio = rows[1]["s_per_step"] / rows[0]["s_per_step"]
    return {
        "config": args.config, "precision": precision, "threads": torch.get_num_threads(),
        "grad_accum": cfg.train.grad_accum, "batch_size": cfg.train.batch_size,
        "n_rejected": cfg.data.n_rejected, "lora_dropout": cfg.model.lora_dropout,
        "warmup": args.warmup, "steps_timed": args.steps, "rows": rows, "ratio_new_over_old": round(ratio, 3),
        "load_avg_1min_after_each_step": [round(x, 2) for x in loads],
        "peak_rss_gib_both": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
    }  # fmt: skip


def _step_micro_batches(train_set: list, cfg, step: int) -> list[list]:
    """The utterances of optimizer step ``step``, cut into its micro-batches (cycling the set)."""
    t = cfg.train
    first = step * t.grad_accum * t.batch_size
    flat = [train_set[(first + i) % len(train_set)] for i in range(t.grad_accum * t.batch_size)]
    return [flat[i : i + t.batch_size] for i in range(0, len(flat), t.batch_size)]


def _one_step(lmm, cfg, micros: list[list], stack: int, params: list, optimizer, precision: str) -> None:
    """One optimizer step as `loop.train` takes it (forward under autocast, backward outside, the
    loss over grad_accum, clip, AdamW), ``stack`` micro-batches a forward."""
    import torch

    from lmm_apa.train.loop import autocast, forward_loss, stack_order, stacked_batch

    t = cfg.train
    for group in stack_order(micros, stack):
        batch = stacked_batch([micros[i] for i in group], lmm, t.loss_type != "ce")
        with autocast(precision, torch.device("cpu")):
            loss, _ = forward_loss(lmm, batch, cfg)
        (loss / t.grad_accum).backward()
    torch.nn.utils.clip_grad_norm_(params, t.max_grad_norm)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


def compare_markdown(result: dict) -> str:
    cols = ["step", "stack_micro_batches", "s_per_step", "s_per_step_each", "cpu_s_per_step"]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(r[c]) for c in cols) + " |" for r in result["rows"]]
    lines.append("")
    lines.append(
        f"{result['config']}, {result['precision']}, {result['threads']} threads, batch "
        f"{result['batch_size']} x grad-accum {result['grad_accum']}, {result['n_rejected']} rejected, "
        f"LoRA dropout {result['lora_dropout']}; {result['steps_timed']} steps timed after "
        f"{result['warmup']}. Stacked / today: {result['ratio_new_over_old']}. 1-min load average after "
        f"each step (2 cores, shared): {result['load_avg_1min_after_each_step']}."
    )
    return "\n".join(lines)


def markdown(rows: list[dict]) -> str:
    cols = [
        "backbone",
        "task",
        "answer_inputs",
        "n_rejected",
        "tokens_per_row",
        "s_per_utt",
        "s_per_step",
        "samples_per_s",
        "cpu_s_per_utt",
    ]
    cols += ["peak_rss_gib", "load_avg_1min"]
    if any("cuda_max_allocated_gib" in r for r in rows):
        cols.append("cuda_max_allocated_gib")
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(r.get(c, "")) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backbone", default="default")
    p.add_argument("--tasks", default=",".join(TASKS))
    p.add_argument("--steps", type=int, default=2, help="timed optimizer steps per task")
    p.add_argument("--warmup", type=int, default=1, help="untimed optimizer steps first")
    p.add_argument("--grad-accum", type=int, default=4, help="micro-batches (utterances) per step")
    p.add_argument("--n-rejected", type=int, default=1)
    p.add_argument("--answer-inputs", default="teacher", choices=["teacher", "filler"])
    p.add_argument("--utterances", type=int, default=8, help="distinct utterances cycled through")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--out", default="bench/results", help="folder for the JSON and markdown")
    p.add_argument("--compare-stacked", action="store_true", help="time today's step against the stacked one")
    p.add_argument("--config", default="configs/cpu_listen.yaml", help="training config (--compare-stacked)")
    p.add_argument("--stack", type=int, default=0, help="micro-batches a forward (0: grad_accum)")
    p.add_argument("--task", help=argparse.SUPPRESS)  # internal: run one task in this process
    args = p.parse_args()
    if args.compare_stacked:
        result = compare_stacked(args)
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "train_throughput_stacked.json").write_text(json.dumps(result, indent=2))
        (out / "train_throughput_stacked.md").write_text(compare_markdown(result) + "\n")
        print(compare_markdown(result))
        return
    if args.task:
        print(json.dumps(run_one(args)))
        return

    rows = []
    for task in args.tasks.split(","):
        cmd = [sys.executable, __file__, "--task", task]
        names = (
            "backbone",
            "steps",
            "warmup",
            "grad_accum",
            "n_rejected",
            "answer_inputs",
            "utterances",
            "threads",
        )
        for name in names:
            cmd += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"{task} failed:\n{proc.stderr[-3000:]}")
        rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]), flush=True)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    slug = Path(args.backbone).name or args.backbone
    slug += "" if args.answer_inputs == "teacher" else f"_{args.answer_inputs}"
    meta = {"machine": platform.machine(), "cpus": os.cpu_count(), "python": platform.python_version()}
    (out / f"train_throughput_{slug}.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    table = markdown(rows)
    (out / f"train_throughput_{slug}.md").write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
