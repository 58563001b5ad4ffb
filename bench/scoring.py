"""Scoring speed, memory and dev metrics of each decoding mode, on the same dev utterances.

    .venv/bin/python bench/scoring.py --data ../shared/speechocean762 --model default \
        --modes onepass,twopass,zero-shot --n 40 --out bench/results/scoring

Each mode runs in its own process (so its peak RSS is its own): load the model, score ``--n`` dev
utterances (a deterministic sample spread over the dev speakers), time every utterance end to end
(audio load + encoder + language model), then evaluate the predictions with the same code as
``lmm-apa evaluate``. ``zero-shot`` is the default backbone without its adapter, decoded one-pass.
Reports utterances/s, real-time factor, latency of the utterances closest to 4 s, peak RSS, and the
dev PCC/SCC per aspect; writes JSON and a markdown table. A mode the model refuses (``generate``
for a model trained on the score slots only) is reported as skipped, with the reason.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ASPECTS = [
    ("sentence", "accuracy"),
    ("sentence", "fluency"),
    ("sentence", "prosodic"),
    ("sentence", "total"),
    ("word", "accuracy"),
    ("word", "stress"),
    ("word", "total"),
    ("phone", "accuracy"),
]


def run_one(args: argparse.Namespace) -> dict:
    import numpy as np

    from lmm_apa.data.audio import load_audio
    from lmm_apa.data.splits import load_split
    from lmm_apa.eval.report import evaluate_predictions, spread_sample
    from lmm_apa.infer.scorer import load_scorer

    labels = spread_sample(load_split(args.data, "dev"), args.n, seed=0)
    model, mode = ("zero-shot", "onepass") if args.mode == "zero-shot" else (args.model, args.mode)
    scorer = load_scorer(model, mode=mode)
    scorer.assess(labels[0].unlabelled(), load_audio(labels[0].audio_path))  # warm-up
    preds, seconds, durations, failures = {}, [], [], 0
    for utt in labels:
        start = time.perf_counter()
        wave = load_audio(utt.audio_path)
        result = scorer.assess(utt.unlabelled(), wave)
        seconds.append(time.perf_counter() - start)
        durations.append(len(wave) / 16000)
        preds[utt.utt_id] = result.utterance
        failures += bool(result.problems)
    metrics = evaluate_predictions(labels, preds, n_boot=0, parse_failures=failures)
    seconds, durations = np.array(seconds), np.array(durations)
    near4 = np.argsort(np.abs(durations - 4.0))[: max(1, len(durations) // 4)]
    return {
        "mode": args.mode,
        "model": model,
        "n": len(labels),
        "utt_per_s": len(labels) / seconds.sum(),
        "rtf": seconds.sum() / durations.sum(),
        "latency_4s_mean_s": float(seconds[near4].mean()),
        "latency_mean_s": float(seconds.mean()),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "parse_failures": failures,
        "metrics": {f"{g}.{a}": metrics[g][a] for g, a in ASPECTS},
    }


def table(rows: list[dict]) -> str:
    head = "| mode | n | utt/s | RTF | latency ~4 s | peak RSS MB | parse failures |"
    lines = [head, "|" + "---|" * 7]
    for r in rows:
        lines.append(
            f"| {r['mode']} | {r['n']} | {r['utt_per_s']:.2f} | {r['rtf']:.3f} | "
            f"{r['latency_4s_mean_s']:.2f} s | {r['peak_rss_mb']:.0f} | {r['parse_failures']} |"
        )
    lines += ["", "| aspect | " + " | ".join(f"{r['mode']} PCC / SCC" for r in rows) + " |"]
    lines.append("|" + "---|" * (len(rows) + 1))

    def cell(m: dict) -> str:
        fmt = lambda x: "—" if x is None else f"{x:.3f}"  # noqa: E731
        return f"{fmt(m.get('pcc'))} / {fmt(m.get('scc'))}"

    for g, a in ASPECTS:
        lines.append(f"| {g} {a} | " + " | ".join(cell(r["metrics"][f"{g}.{a}"]) for r in rows) + " |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "speechocean762"))
    p.add_argument("--model", default="default")
    p.add_argument("--modes", default="onepass,twopass,zero-shot")
    p.add_argument("--mode", help=argparse.SUPPRESS)  # one mode, in a child process
    p.add_argument("--n", type=int, default=40, help="dev utterances per mode")
    p.add_argument("--out", default="bench/results/scoring")
    args = p.parse_args()
    if args.mode:
        print(json.dumps(run_one(args)))
        return
    rows = []
    for mode in args.modes.split(","):
        cmd = [sys.executable, __file__, "--data", args.data, "--model", args.model, "--n", str(args.n)]
        done = subprocess.run([*cmd, "--mode", mode], capture_output=True, text=True)
        if done.returncode != 0:
            print(f"{mode}: skipped ({done.stderr.strip().splitlines()[-1]})", file=sys.stderr)
            continue
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(f"{mode}: {rows[-1]['utt_per_s']:.2f} utt/s, RTF {rows[-1]['rtf']:.3f}", file=sys.stderr)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    result = {"machine": platform.processor() or platform.machine(), "args": vars(args), "rows": rows}
    out.with_suffix(".json").write_text(json.dumps(result, indent=2))
    out.with_suffix(".md").write_text(table(rows) + "\n")
    print(table(rows))


if __name__ == "__main__":
    main()
