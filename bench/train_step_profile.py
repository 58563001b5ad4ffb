"""Where one training step's time goes: forward and backward apart, then torch.profiler's op table.

    LMM_APA_CORPUS=... OMP_NUM_THREADS=2 .venv/bin/python bench/train_step_profile.py \
        --config configs/cpu_listen.yaml --micro 8 --profile 4

Loads the config's model as `loop.train` runs it (precision resolved, frozen matrices in bf16 under
bf16), builds ``--micro`` utterances, times forward (`forward_loss` under autocast) and backward of
one micro-batch each (``--stack``: that many a forward, `train.stack_micro_batches`), and prints the
``--profile`` first micro-batches' top ops by self CPU time. Timings on shared cores move with the
load: the 1-minute load average is printed with them (docs/training.md).
"""

from __future__ import annotations

import argparse
import os
import time


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", default="configs/cpu_listen.yaml")
    p.add_argument("--micro", type=int, default=8, help="utterances (micro-batches of one)")
    p.add_argument("--stack", type=int, default=1, help="micro-batches a forward pass")
    p.add_argument("--profile", type=int, default=0, help="micro-batches under torch.profiler (0: none)")
    p.add_argument("--set", nargs="*", default=[], help="config overrides, section.key=value")
    args = p.parse_args()

    import torch
    from train_throughput import model_and_examples

    from lmm_apa.train.loop import autocast, forward_loss, stacked_batch

    cfg, lmm, train_set, precision = model_and_examples(args.config, args.micro, tuple(args.set))
    lmm.model.train()
    stacks = [[[e] for e in train_set[i : i + args.stack]] for i in range(0, len(train_set), args.stack)]

    def step(stack: list) -> tuple[float, float]:
        batch = stacked_batch(stack, lmm, cfg.train.loss_type != "ce")
        t0 = time.perf_counter()
        with autocast(precision, torch.device("cpu")):
            loss, _ = forward_loss(lmm, batch, cfg)
        t1 = time.perf_counter()
        loss.backward()
        return t1 - t0, time.perf_counter() - t1

    step(stacks[0])  # warm-up: first-call allocations
    fwd = bwd = 0.0
    for stack in stacks:
        f, b = step(stack)
        fwd, bwd = fwd + f, bwd + b
    print(f"{precision}, {len(train_set)} utterances, {args.stack} a forward: forward {fwd:.2f} s, "
          f"backward {bwd:.2f} s; load average {os.getloadavg()[0]:.2f}")  # fmt: skip
    if args.profile:
        from torch.profiler import ProfilerActivity, profile

        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for stack in stacks[: args.profile]:
                step(stack)
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=20))


if __name__ == "__main__":
    main()
