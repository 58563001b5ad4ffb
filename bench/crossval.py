"""5-fold speaker-disjoint cross-validation over the whole train split: the dev protocol that predicts
held-out results (`lmm_apa.eval.crossval`).

    OMP_NUM_THREADS=2 python bench/crossval.py --data ../shared/speechocean762 --cache /work/cache \\
        --scorer evidence --out bench/results/crossval/baseline
    python bench/crossval.py --data ../shared/speechocean762 --out bench/results/crossval/B_vs_A \\
        --compare bench/results/crossval/A bench/results/crossval/B

Run: for each fold, the phone head trained on the other four (cached under --cache/crossval/...),
every recording aligned with it (cached), the scorer fit on the training folds and the held-out fold
predicted (cached under --out/folds/). Resumes: folds done are skipped, at each of the three steps.
`--folds 0,1` runs some folds only; the metrics are then those of the folds done.

Writes to --out: predictions.jsonl (the out-of-fold predictions of the folds done, corpus schema,
readable by `lmm-apa evaluate --predictions`), metrics.json (`evaluate_predictions`' metrics with
speaker-bootstrap CIs and SCC caps, per-fold PCCs, mispronunciation detection, timings, config) and
table.md. Detection: `phones-heard` and `error_type` of the out-of-fold predictions against the
raters' phone (< 1) and word (< 6) accuracy, with bench/heard_phones.py's functions.
`--compare A B`: B minus A on the same recordings, paired speaker bootstrap
(`lmm_apa.eval.compare.paired_differences`), written to --out as compare.json / compare.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # heard_phones, run as a script or imported

LEVELS = ("sentence", "word", "phone")


def detection_rows(labels: list, preds: dict, alignments: dict) -> dict[str, np.ndarray]:
    """bench/heard_phones.collect's arrays, from out-of-fold predictions and their fold's alignments."""
    import heard_phones

    scored = ((u, preds[u.utt_id], alignments[u.utt_id]) for u in labels)
    return heard_phones.detection_arrays(scored, flags=True)


def detection(cv, labels: list, preds: dict, n_boot: int) -> dict:
    import heard_phones

    fold_of = cv.fold_of()
    parts = []
    for f in sorted({fold_of[u.utt_id] for u in labels}):
        alignments = cv.alignments(f)
        parts.append(detection_rows([u for u in labels if fold_of[u.utt_id] == f], preds, alignments))
    d = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    result = heard_phones.measure(d, n_boot)
    # What the output keys say, checked against the cuts measure() applies to the same scores.
    result["phones_heard_share"] = round(float(d["heard"].mean()), 4)
    result["error_type_mispronunciation_share"] = round(float(d["word_flag"].mean()), 4)
    return result


def per_fold(cv, labels: list, preds: dict) -> dict:
    """PCC per fold (no bootstrap): how much the folds differ, beside the pooled OOF figure."""
    from lmm_apa.eval.metrics import compute_metrics

    fold_of = cv.fold_of()
    out: dict = {}
    for f in sorted({fold_of[u.utt_id] for u in labels}):
        m = compute_metrics([u for u in labels if fold_of[u.utt_id] == f], preds, n_boot=0)
        for g in LEVELS:
            for a, v in m[g].items():
                out.setdefault(g, {}).setdefault(a, []).append(v["pcc"])
    return out


def _f(x: float | None, digits: int = 3) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def metrics_table(metrics: dict) -> list[str]:
    lines = [
        "| level | aspect | n | PCC [95% CI] | PCC per fold: mean ± sd | SCC (cap) | RMSE |",
        "|---|---|---|---|---|---|---|",
    ]
    for g in LEVELS:
        for a, m in metrics[g].items():
            ci = m.get("pcc_ci")
            ci_s = f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else ""
            folds = [x for x in metrics["per_fold"][g][a] if x is not None]
            fold_s = f"{np.mean(folds):.3f} ± {np.std(folds):.3f}" if folds else "—"
            lines.append(
                f"| {g} | {a} | {m['n']} | {_f(m['pcc'])}{ci_s} | {fold_s} | "
                f"{_f(m['scc'])} ({_f(m.get('scc_cap'), 2)}) | {_f(m['rmse'])} |"
            )
    return lines


def run(args) -> None:
    import torch

    from lmm_apa.align.head import HeadConfig
    from lmm_apa.data.speechocean import load_speechocean762
    from lmm_apa.eval.crossval import CrossVal, HeadRecipe

    # One thread by default: on the shared 2-core machine (load ~11), the head's forward ran 6x and
    # its training 1.7x faster with one torch thread than with two (threads spin, waiting for a core).
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    utts = load_speechocean762(args.data, split="train")
    recipe = HeadRecipe(epochs=args.epochs, seed=args.head_seed, head=HeadConfig())
    out.mkdir(parents=True, exist_ok=True)
    log_file = (out / "run.log").open("a")

    def log(line: str) -> None:
        print(line, flush=True)
        log_file.write(f"{time.strftime('%H:%M:%S')} {line}\n")
        log_file.flush()

    cv = CrossVal(utts, Path(args.cache), k=args.k, seed=args.seed, recipe=recipe, log=log)
    folds = [int(x) for x in args.folds.split(",")] if args.folds else None
    text = summarise(cv, args.scorer, out, args.scorer_seed, folds, args.n_boot)
    print(text)


def summarise(cv, scorer: str, out: Path, seed: int = 0, folds=None, n_boot: int = 1000) -> str:
    """Run (or read from the caches) the folds, write predictions.jsonl, metrics.json, table.md."""
    from lmm_apa.eval.predictions import write_predictions
    from lmm_apa.eval.report import evaluate_predictions, write_metrics

    t0 = time.perf_counter()
    preds = cv.run(scorer, out, seed=seed, folds=folds)
    labels = [u for u in cv.utts if u.utt_id in preds]
    write_predictions([preds[u.utt_id] for u in labels], out / "predictions.jsonl")
    config = {
        "scorer": scorer, "k": cv.k, "fold_seed": cv.seed, "scorer_seed": seed,
        "folds_done": sorted({cv.fold_of()[u] for u in preds}), "cache": str(cv.dir),
        "recipe": json.loads((cv.dir / "recipe.json").read_text()),
    }  # fmt: skip
    metrics = evaluate_predictions(labels, preds, n_boot=n_boot, config=config)
    metrics["per_fold"] = per_fold(cv, labels, preds)
    # detection reads word and phone accuracies: a scorer without them is not measured
    if all(w.accuracy is not None for p in preds.values() for w in p.words):
        metrics["detection"] = detection(cv, labels, preds, n_boot)
    metrics["timings"] = timings(cv, out, config["folds_done"]) | {
        "this_call_s": round(time.perf_counter() - t0)
    }
    write_metrics(metrics, out / "metrics.json")
    text = report(metrics, str(out))
    (out / "table.md").write_text(text)
    return text


def timings(cv, out: Path, folds: list[int]) -> dict:
    t: dict = {}
    for f in folds:
        info = json.loads((cv.fold_dir(f) / "fold.json").read_text())
        fit = json.loads((out / "folds" / f"fold{f}.json").read_text())
        t[f"fold{f}"] = {
            "head_s": info["head_seconds"], "align_s": info["align_seconds"], "scorer_s": fit["seconds"],
            "head_epoch": info["head"].get("epoch"), "epoch_dev_ctc": info["head"].get("dev_ctc"),
        }  # fmt: skip
    return t


def report(metrics: dict, out: str) -> str:
    c = metrics["config"]
    lines = [
        f"Out-of-fold predictions of {metrics['n_utterances']} train recordings "
        f"({c['k']}-fold speaker-disjoint, folds done {c['folds_done']}), scorer `{c['scorer']}`; "
        f"`python bench/crossval.py --scorer {c['scorer']} --out {out}`. PCC intervals: 95% speaker "
        "bootstrap over the pooled OOF predictions; per fold: the spread of the folds' own PCCs.",
        "",
        *metrics_table(metrics),
        "",
        *detection_lines(metrics),
        "Timings per fold (seconds; head epoch chosen on the training folds' epoch slice):",
        "",
        "```",
        *(f"{k}: {json.dumps(v)}" for k, v in metrics["timings"].items()),
        "```",
    ]
    return "\n".join(lines) + "\n"


def _signed(x: float | None, ci: list[float] | None) -> str:
    if x is None:
        return "—"
    return f"{x:+.3f}" + (f" [{ci[0]:+.3f}, {ci[1]:+.3f}]" if ci else "")


def detection_lines(metrics: dict) -> list[str]:
    import heard_phones

    det = metrics.get("detection")
    if det is None:
        return []
    det = det | {"split": "out-of-fold train", "recordings": metrics["n_utterances"], "seconds": 0}
    return [
        "Mispronunciation detection on the same out-of-fold predictions (bench/heard_phones.py's measures; "
        f"`phones-heard` set on {100 * det['phones_heard_share']:.1f}% of said phones, `error_type` "
        f"mispronunciation on {100 * det['error_type_mispronunciation_share']:.1f}% of said words):",
        "",
        *heard_phones.table(det).splitlines()[2:],
        "",
    ]


def compare(a_dir: Path, b_dir: Path, out: Path, utts: list, n_boot: int = 1000) -> str:
    """B minus A on the recordings both predicted; writes compare.json and compare.md to ``out``."""
    from lmm_apa.eval.compare import paired_differences
    from lmm_apa.eval.predictions import read_predictions

    pa, pb = read_predictions(a_dir / "predictions.jsonl"), read_predictions(b_dir / "predictions.jsonl")
    both = set(pa) & set(pb)
    labels = [u for u in utts if u.utt_id in both]
    diff = paired_differences(labels, pa, pb, n_boot=n_boot)
    ma = json.loads((a_dir / "metrics.json").read_text())
    mb = json.loads((b_dir / "metrics.json").read_text())
    lines = [
        f"B = `{b_dir}` minus A = `{a_dir}` on the same {len(labels)} out-of-fold recordings "
        "(paired speaker bootstrap, 95%).",
        "",
        "| level | aspect | n | A PCC | B PCC | B − A PCC [95% CI] | B − A SCC [95% CI] |",
        "|---|---|---|---|---|---|---|",
    ]
    for g in LEVELS:
        for a, d in diff.get(g, {}).items():
            lines.append(
                f"| {g} | {a} | {d['n']} | {_f(ma[g][a]['pcc'])} | {_f(mb[g][a]['pcc'])} | "
                f"{_signed(d['pcc'], d['pcc_ci'])} | {_signed(d['scc'], d['scc_ci'])} |"
            )
    out.mkdir(parents=True, exist_ok=True)
    (out / "compare.json").write_text(json.dumps({"a": str(a_dir), "b": str(b_dir), "diff": diff}, indent=2))
    (out / "compare.md").write_text("\n".join(lines) + "\n")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="../shared/speechocean762")
    p.add_argument("--cache", default="runs/cache", help="frames/ and crossval/ (heads, alignments)")
    p.add_argument("--scorer", default="evidence", help="a name in crossval.SCORERS, or package.module:Class")
    p.add_argument("--out", required=True)
    p.add_argument("--k", type=int, default=5)
    p.add_argument("--seed", type=int, default=0, help="the folds' seed")
    p.add_argument("--head-seed", type=int, default=0)
    p.add_argument("--scorer-seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--folds", default=None, help="comma-separated fold numbers (default: all)")
    p.add_argument("--n-boot", type=int, default=1000)
    p.add_argument("--threads", type=int, default=1, help="torch threads (see run())")
    p.add_argument("--compare", nargs=2, metavar=("A", "B"), help="two --out folders: B minus A")
    args = p.parse_args(argv)
    if args.compare:
        from lmm_apa.data.speechocean import load_speechocean762

        utts = load_speechocean762(args.data, split="train")
        print(compare(*map(Path, args.compare), Path(args.out), utts, n_boot=args.n_boot))
    else:
        run(args)


if __name__ == "__main__":
    main()
