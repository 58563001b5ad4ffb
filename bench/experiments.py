"""The paper's experiments on the default backbone, at one equal training budget, on the dev split.

    OMP_NUM_THREADS=1 .venv/bin/python bench/experiments.py --out bench/results/experiments

Every variant starts from the same base config (configs/cpu_experiments.yaml) and changes one
thing, so each row of the table is one comparison the paper made:

- ``simpo_ce``   SimPO + CE, multi-granularity, one rejected answer: the base.
- ``ce``         CE only (the paper's SFT baseline).
- ``simpo_ce_k3``  three rejected answers per utterance instead of one.
- ``sentence`` / ``word`` / ``phone``  single-granularity models (the task changes the prompt and
  the answer; each is evaluated on its own level only).

Each variant is trained for the same number of optimizer steps (``--steps``; utterances seen are
equal), then scored one-pass on ``--dev-utts`` dev utterances spread over the dev speakers, and
PCC/SCC/RMSE per aspect are written with speaker-bootstrap 95% CIs. A variant whose result exists
is skipped and an interrupted one resumes from its checkpoint, so the script can be rerun until
done. On this 2-core CPU the budget is small: read the CIs before reading a difference.
"""

from __future__ import annotations

import argparse
import gc
import json
import time
from pathlib import Path

from lmm_apa.data.records import ASPECTS

ROOT = Path(__file__).resolve().parents[1]
VARIANTS: dict[str, list[str]] = {
    "simpo_ce": [],
    "ce": ["train.loss_type=ce"],
    "simpo_ce_k3": ["data.n_rejected=3"],
    "sentence": ["data.task=sentence"],
    "word": ["data.task=word"],
    "phone": ["data.task=phone"],
}


def run_variant(name: str, overrides: list[str], args: argparse.Namespace) -> dict:
    from lmm_apa.data.splits import load_split
    from lmm_apa.eval.report import evaluate_predictions, spread_sample
    from lmm_apa.infer.batch import predict_utterances
    from lmm_apa.infer.scorer import load_scorer
    from lmm_apa.train.config import load_config
    from lmm_apa.train.loop import train

    run_dir = Path(args.runs) / name
    cfg = load_config(
        args.config,
        [
            *overrides,
            f"train.max_steps={args.steps}",
            f"train.output_dir={run_dir}",
            f"data.corpus_dir={args.data}",
        ],
    )
    start = time.perf_counter()
    result = train(cfg, resume=True, progress=False)
    train_s = time.perf_counter() - start

    dev = spread_sample(load_split(args.data, "dev"), args.dev_utts)
    scorer = load_scorer(result.final_adapter, mode="onepass")
    start = time.perf_counter()
    batch = predict_utterances(scorer, dev, progress=False)
    score_s = time.perf_counter() - start
    metrics = evaluate_predictions(dev, batch.predictions, n_boot=args.n_boot, config={"variant": name})
    del scorer
    gc.collect()
    return {
        "variant": name,
        "overrides": overrides,
        "task": cfg.data.task,
        "steps": result.steps,
        "utterances_seen": result.steps * cfg.train.grad_accum * cfg.train.batch_size,
        "train_s": train_s,
        "resumed": result.resumed_from is not None,
        "score_s": score_s,
        "dev_utts": len(dev),
        "not_scored": batch.errors,
        "metrics": metrics,
    }


def table(results: list[dict], stat: str) -> list[str]:
    keys = [(g, a) for g, aspects in ASPECTS.items() for a in aspects]
    head = "| variant | " + " | ".join(f"{g[:4]} {a[:5]}" for g, a in keys) + " |"
    lines = [head, "|---" * (len(keys) + 1) + "|"]
    for r in results:
        cells = []
        for g, a in keys:
            m = r["metrics"][g][a]
            v = m.get(stat)
            if v is None:
                cells.append("—")
            elif stat == "pcc" and m.get("pcc_ci"):
                lo, hi = m["pcc_ci"]
                cells.append(f"{v:.2f} [{lo:.2f},{hi:.2f}]")
            elif stat == "scc" and m.get("scc_cap"):
                cells.append(f"{v:.2f} ({m['scc_cap']:.2f})")
            else:
                cells.append(f"{v:.2f}")
        lines.append(f"| {r['variant']} | " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "speechocean762"))
    p.add_argument("--config", default=str(ROOT / "configs" / "cpu_experiments.yaml"))
    p.add_argument("--steps", type=int, default=30, help="optimizer steps per variant (x8 utterances)")
    p.add_argument("--dev-utts", type=int, default=100, help="dev utterances scored per variant")
    p.add_argument("--n-boot", type=int, default=1000)
    p.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=list(VARIANTS))
    p.add_argument("--runs", default=str(ROOT / "runs" / "experiments"))
    p.add_argument("--out", default=str(ROOT / "bench" / "results" / "experiments"))
    args = p.parse_args()

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = []
    for name in args.variants:
        path = out / f"{name}.json"
        if path.is_file():
            results.append(json.loads(path.read_text()))
            continue
        print(f"== {name}: {' '.join(VARIANTS[name]) or '(base)'}", flush=True)
        r = run_variant(name, VARIANTS[name], args)
        path.write_text(json.dumps(r, indent=2) + "\n")
        results.append(r)
        print(f"   trained {r['steps']} steps in {r['train_s']:.0f} s", flush=True)

    lines = [
        f"Equal budget: {args.steps} steps x 8 = {args.steps * 8} training utterances per variant; "
        f"one-pass scores on {args.dev_utts} dev utterances (spread over speakers). Base config: "
        f"{Path(args.config).name}.",
        "",
        "Training time per variant (s): "
        + ", ".join(
            f"{r['variant']} {r['train_s']:.0f}{' (resumed)' if r['resumed'] else ''}" for r in results
        ),
        "",
        "PCC [95% speaker-bootstrap CI]",
        "",
        *table(results, "pcc"),
        "",
        "SCC (cap: the SCC of the labels' own tie structure)",
        "",
        *table(results, "scc"),
        "",
        "RMSE",
        "",
        *table(results, "rmse"),
    ]
    (out / "table.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
