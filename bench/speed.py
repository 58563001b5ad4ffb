"""Speed side by side, per precision and batch size: latency, throughput, peak RSS, training s/step,
and how far bf16 (and int8) scores move from fp32's.

    OMP_NUM_THREADS=2 .venv/bin/python bench/speed.py --n 40 --out bench/results/speed

Every configuration runs in its own process, one after the other (so its peak RSS is its own and
none competes with another for the cores):

- scoring (`--configs`): load the shipped default model (`load_scorer`), then
  latency: one dev recording of about 4 s, `assess_text` end to end (audio read, aligner, LMM),
  median of 5 after a warm-up; throughput: `predict_utterances` over ``--n`` dev recordings (what
  `lmm-apa evaluate` runs), recordings/s of wall time; the dev PCC of those predictions; and each
  recording's per-slot expected scores as the LMM read them (before they are blended with the
  aligner's), compared with the ``fp32`` row's: max and 95th percentile |difference|.
- training (`--train-precisions`): `configs/cpu_smoke.yaml` (multi, filler, 3 rejected, batch 1,
  as the default recipe) with grad-accum ``--train-accum``, ``--train-steps`` steps per precision
  on the same utterances; seconds per utterance (median of the steps after the first), the
  default recipe's step (8 utterances) from it, and the loss of every step.

Rows are appended to ``OUT.rows.jsonl`` as they are measured; ``--keep`` reuses the rows there
(so a part can be re-run alone) and the table is made from all of them.

``before`` is scoring as it was before this benchmark's changes: fp32, the adapter's matmuls at
every layer, every slot read (the shipped blend uses the LMM's sentence slots only; the scorer now
stops the forward pass after them). ``bf16-all`` reads every slot too, so that bf16's agreement
is measured on word and phone slots as well (against ``before``; the other rows against ``fp32``).
``int8`` is fp32 with dynamic int8 quantization of the language model's linear layers
(`torch.ao.quantization.quantize_dynamic`), measured to decide whether to offer it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ASPECTS = [
    ("sentence", "accuracy"), ("sentence", "fluency"), ("sentence", "prosodic"), ("sentence", "total"),
    ("word", "accuracy"), ("word", "stress"), ("word", "total"), ("phone", "accuracy"),
]  # fmt: skip
CONFIGS = {
    "before": {"precision": "fp32", "merge": False, "batch": 1, "all_slots": True},
    "bf16-all": {"precision": "bf16", "merge": True, "batch": 1, "all_slots": True},
    "fp32": {"precision": "fp32", "merge": True, "batch": 1},
    "fp32-b4": {"precision": "fp32", "merge": True, "batch": 4},
    "bf16": {"precision": "bf16", "merge": True, "batch": 1},
    "bf16-b4": {"precision": "bf16", "merge": True, "batch": 4},
    "bf16-b8": {"precision": "bf16", "merge": True, "batch": 8},
    "int8": {"precision": "fp32", "merge": True, "batch": 1, "int8": True},
}


def run_scoring(args: argparse.Namespace) -> dict:
    import numpy as np
    import torch

    from lmm_apa.data.audio import load_audio
    from lmm_apa.data.splits import load_split
    from lmm_apa.eval.report import evaluate_predictions, spread_sample
    from lmm_apa.infer.batch import predict_utterances
    from lmm_apa.infer.scorer import load_scorer

    c = CONFIGS[args.config]
    labels = spread_sample(load_split(args.data, "dev"), args.n, seed=0)
    t0 = time.perf_counter()
    scorer = load_scorer(args.model, precision=c["precision"], merge=c["merge"], batch_size=c["batch"])
    if c.get("int8"):
        from torch.ao.quantization import quantize_dynamic

        lm = scorer.lmm.language_model
        quantize_dynamic(lm, {torch.nn.Linear}, dtype=torch.qint8, inplace=True)
    load_s = time.perf_counter() - t0
    # read every slot, as the scorer did before it read only those it uses
    scorer.read_all_slots = bool(c.get("all_slots"))

    # The LMM's own per-slot expected scores, as the batched one-pass read them.
    raw: dict[str, dict[str, float]] = {}

    def keep_raw(references, readouts):
        for ref, r in zip(references, readouts, strict=True):
            raw[ref.utt_id] = {f"{s.granularity}.{s.aspect}.{s.word}.{s.phone}": v for s, v in r.mean.items()}

    scorer.on_readouts = keep_raw

    durations = {u.utt_id: len(load_audio(u.audio_path)) / 16000 for u in labels}
    near4 = min(labels, key=lambda u: abs(durations[u.utt_id] - 4.0))
    scorer.assess_text(near4.audio_path, near4.text, near4.utt_id)  # warm-up
    times = []
    for _ in range(5):
        start = time.perf_counter()
        scorer.assess_text(near4.audio_path, near4.text, near4.utt_id)
        times.append(time.perf_counter() - start)
    start = time.perf_counter()
    batch = predict_utterances(scorer, labels, progress=False)
    wall = time.perf_counter() - start
    metrics = evaluate_predictions(labels, batch.predictions, n_boot=0)
    return {
        "config": args.config,
        **c,
        "dtype": str(scorer.lmm.dtype).removeprefix("torch."),
        "load_s": load_s,
        "n": len(labels),
        "latency_audio_s": durations[near4.utt_id],
        "latency_s": float(np.median(times)),
        "latency_all_s": times,
        "wall_s": wall,
        "utt_per_s": len(batch.predictions) / wall,
        "rtf": wall / sum(durations.values()),
        "errors": batch.errors,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "pcc": {f"{g}.{a}": metrics[g][a]["pcc"] for g, a in ASPECTS},
        "raw": raw,
    }


def run_training(args: argparse.Namespace) -> dict:
    import numpy as np

    from lmm_apa.train.config import load_config
    from lmm_apa.train.log import read_log
    from lmm_apa.train.loop import train

    steps, accum = args.train_steps, args.train_accum
    with tempfile.TemporaryDirectory() as tmp:
        cfg = load_config(
            REPO / "configs" / "cpu_smoke.yaml",
            [
                f"train.precision={args.train}", f"train.max_steps={steps}", f"train.grad_accum={accum}",
                f"data.limit={accum * steps}", "data.dev_limit=2", f"train.save_every={steps}",
                "train.tensorboard=false", f"train.output_dir={tmp}/run",
            ],
        )  # fmt: skip
        start = time.perf_counter()
        result = train(cfg, progress=False)
        wall = time.perf_counter() - start
        log = [r for r in read_log(result.output_dir / "log.jsonl") if "loss" in r]
    per_step = [r["s_per_step"] for r in log]
    s_per_utt = float(np.median(per_step[1:] or per_step)) / accum
    return {
        "train": args.train,
        "steps": steps,
        "grad_accum": accum,
        "s_per_utterance": s_per_utt,
        "s_per_step": 8 * s_per_utt,  # the default recipe's step: batch 1 x grad-accum 8
        "s_per_step_all": per_step,
        "loss": [r["loss"] for r in log],
        "wall_s": wall,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def agreement(rows: list[dict]) -> None:
    """Per row: |difference| of its per-slot expected scores from its fp32 reference row's."""
    import numpy as np

    for r in rows:
        reference = "before" if r.get("all_slots") else "fp32"
        ref = next((x for x in rows if x["config"] == reference), None)
        if ref is None or r is ref:
            continue
        r["compared_with"] = reference
        diffs = [
            abs(v - ref["raw"][utt][slot])
            for utt, slots in r["raw"].items()
            if utt in ref["raw"]
            for slot, v in slots.items()
        ]
        d = np.array(diffs)
        r["slot_diff"] = {
            "n": len(d),
            "max": float(d.max()),
            "p95": float(np.percentile(d, 95)),
            "share_within_0.1": float((d <= 0.1).mean()),
        }
        both = [k for k in r["pcc"] if r["pcc"][k] is not None and ref["pcc"][k] is not None]
        r["pcc_diff_max"] = max((abs(r["pcc"][k] - ref["pcc"][k]) for k in both), default=float("nan"))


def table(rows: list[dict], train_rows: list[dict]) -> str:
    head = (
        "| config | precision | LoRA | batch | latency ~4 s | recordings/s | RTF | peak RSS MB | "
        "slots read | slot |diff| max / p95 (vs) | max |PCC diff| |"
    )
    lines = [head, "|" + "---|" * 11]
    for r in rows:
        d = r.get("slot_diff")
        agree = f"{d['max']:.3f} / {d['p95']:.3f} ({r['compared_with']})" if d else "—"
        pcc = f"{r['pcc_diff_max']:.3f}" if "pcc_diff_max" in r else "—"
        kind = "int8 dyn." if r.get("int8") else r["precision"]
        lines.append(
            f"| {r['config']} | {kind} | {'merged' if r['merge'] else 'adapter'} | {r['batch']} | "
            f"{r['latency_s']:.2f} s | {r['utt_per_s']:.2f} | {r['rtf']:.3f} | {r['peak_rss_mb']:.0f} | "
            f"{'all' if r.get('all_slots') else 'used'} | {agree} | {pcc} |"
        )
    lines += ["", "| aspect | " + " | ".join(r["config"] for r in rows) + " |"]
    lines.append("|" + "---|" * (len(rows) + 1))
    for g, a in ASPECTS:
        k = f"{g}.{a}"
        cells = ("—" if r["pcc"][k] is None else f"{r['pcc'][k]:.3f}" for r in rows)
        lines.append(f"| {g} {a} PCC | " + " | ".join(cells) + " |")
    if train_rows:
        lines += ["", "| training | s/utterance | s/step of the recipe (x 8) | loss per step | peak RSS MB |"]
        lines.append("|---|---|---|---|---|")
        for t in train_rows:
            losses = ", ".join(f"{x:.4f}" for x in t["loss"])
            lines.append(
                f"| {t['train']} | {t['s_per_utterance']:.2f} | {t['s_per_step']:.1f} | {losses} | "
                f"{t['peak_rss_mb']:.0f} |"
            )
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=str(REPO.parent / "shared" / "speechocean762"))
    p.add_argument("--model", default="default")
    p.add_argument("--n", type=int, default=40, help="dev recordings for throughput and agreement")
    p.add_argument("--configs", default=",".join(CONFIGS), help=f"of {', '.join(CONFIGS)}")
    p.add_argument("--train-precisions", default="fp32,bf16", help="'' to skip training")
    p.add_argument("--train-steps", type=int, default=3)
    p.add_argument("--train-accum", type=int, default=2, help="grad-accum (cpu_smoke.yaml's own: 2)")
    p.add_argument("--keep", action="store_true", help="reuse the rows already in OUT.rows.jsonl")
    p.add_argument("--out", default="bench/results/speed")
    p.add_argument("--config", help=argparse.SUPPRESS)  # one scoring config, in a child process
    p.add_argument("--train", help=argparse.SUPPRESS)  # one training precision, in a child process
    args = p.parse_args()
    if args.config or args.train:
        print(json.dumps(run_scoring(args) if args.config else run_training(args)))
        return

    base = [sys.executable, __file__, "--data", args.data, "--model", args.model, "--n", str(args.n)]
    base += ["--train-steps", str(args.train_steps), "--train-accum", str(args.train_accum)]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    done_rows = out.with_suffix(".rows.jsonl")
    kept = (
        [json.loads(x) for x in done_rows.read_text().splitlines()]
        if args.keep and done_rows.exists()
        else []
    )
    if not args.keep:
        done_rows.write_text("")
    have = {r.get("config") or f"train:{r['train']}" for r in kept}
    jobs = [["--config", c] for c in args.configs.split(",") if c and c not in have]
    jobs += [["--train", t] for t in args.train_precisions.split(",") if t and f"train:{t}" not in have]
    for job in jobs:
        start = time.perf_counter()
        done = subprocess.run([*base, *job], capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"{' '.join(job)} failed:\n{done.stderr[-3000:]}")
        row = json.loads(done.stdout.strip().splitlines()[-1])
        row["load_average"] = os.getloadavg()
        kept.append(row)
        with done_rows.open("a") as f:
            f.write(json.dumps(row) + "\n")
        what = f"{row['utt_per_s']:.2f} rec/s" if "utt_per_s" in row else f"{row['s_per_step']:.2f} s/step"
        print(f"{job[1]}: {what} ({time.perf_counter() - start:.0f} s)", file=sys.stderr)
    order = list(CONFIGS)
    rows = sorted((r for r in kept if "config" in r), key=lambda r: order.index(r["config"]))
    train_rows = [r for r in kept if "train" in r]
    agreement(rows)
    result = {
        "machine": platform.processor() or platform.machine(),
        "threads": os.environ.get("OMP_NUM_THREADS"),
        "load_average_after": os.getloadavg(),
        "args": {k: v for k, v in vars(args).items() if k not in ("config", "train")},
        "rows": [{k: v for k, v in r.items() if k != "raw"} for r in rows],
        "train": train_rows,
    }
    out.with_suffix(".json").write_text(json.dumps(result, indent=2))
    out.with_suffix(".md").write_text(table(rows, train_rows) + "\n")
    print(table(rows, train_rows))


if __name__ == "__main__":
    main()
