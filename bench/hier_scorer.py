"""HierScorer against EvidenceScorer on dev25, both fit on the same train-minus-dev25 alignments.

    OMP_NUM_THREADS=2 PYTHONPATH=src python bench/hier_scorer.py align \\
        --data ../shared/speechocean762 --frames /work/cache/frames --cache /work/cache/hier
    OMP_NUM_THREADS=2 PYTHONPATH=src python bench/hier_scorer.py compare \\
        --data ../shared/speechocean762 --cache /work/cache/hier --out bench/results/hier_scorer \\
        [--seeds 3] [--rank-weight 0.5] [--epochs 15]

``align`` aligns every recording whose encoder frames are cached (`frame_cache`'s files) with the
shipped phone recogniser, as bench/evidence_readout.py does, and pickles each `Alignment` (without
the pooled encoder frames, which neither scorer reads) under --cache/alignments/; what is there is
skipped. ``compare`` fits both scorers on the train-minus-dev25 recordings that have an alignment,
scores the dev25 ones, and reports PCC / SCC / RMSE per aspect (`evaluate_predictions`, speaker
bootstrap) and the paired difference HierScorer - EvidenceScorer (`paired_differences`).
The shipped head was trained on train-minus-dev25, so the training alignments are in-sample for it
and dev25's are not: the same footing the shipped EvidenceScorer was fit and measured on.
"""

from __future__ import annotations

import argparse
import json
import pickle
import time
from dataclasses import replace
from pathlib import Path

import numpy as np


def align_cached(data: str, frames_dir: Path, cache: Path) -> None:
    from lmm_apa.align.aligner import Aligner, align_posteriors
    from lmm_apa.data.splits import load_split

    out = cache / "alignments"
    out.mkdir(parents=True, exist_ok=True)
    aligner = Aligner()
    n = 0
    t0 = time.perf_counter()
    for u in load_split(data, "train"):
        src, dst = frames_dir / f"{u.utt_id}.npy", out / f"{u.utt_id}.pkl"
        if dst.is_file() or not src.is_file():
            continue
        frames = np.load(src).astype(np.float32)
        logp, hidden = aligner.head.posteriors(frames)
        al = align_posteriors(logp, hidden, frames, u.unlabelled())
        for w in al.words:
            w.phones = [replace(p, frames=np.zeros(0, np.float32)) for p in w.phones]
        tmp = dst.with_suffix(".tmp")
        tmp.write_bytes(pickle.dumps(al))
        tmp.rename(dst)
        n += 1
    print(f"aligned {n} recordings in {time.perf_counter() - t0:.0f} s")


def load_aligned(data: str, split: str, cache: Path) -> tuple[list, list]:
    from lmm_apa.data.splits import load_split

    utts, als = [], []
    for u in load_split(data, split):
        path = cache / "alignments" / f"{u.utt_id}.pkl"
        if path.is_file():
            utts.append(u)
            als.append(pickle.loads(path.read_bytes()))
    return utts, als


def _table(metrics: dict, metrics_b: dict, diff: dict) -> list[str]:
    fmt = lambda x: "—" if x is None else f"{x:.3f}"  # noqa: E731
    lines = [
        "| level | aspect | n | Evidence PCC | Hier PCC | diff [95% CI] | SCC E / H | RMSE E / H |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for g in ("phone", "word", "sentence"):
        for a, m in metrics[g].items():
            mb, d = metrics_b[g][a], diff.get(g, {}).get(a)
            d_s = (
                "—"
                if d is None or d["pcc"] is None
                else f"{d['pcc']:+.3f} [{d['pcc_ci'][0]:+.3f}, {d['pcc_ci'][1]:+.3f}]"
            )
            lines.append(
                f"| {g} | {a} | {m['n']} | {fmt(m['pcc'])} | {fmt(mb['pcc'])} | {d_s} | "
                f"{fmt(m['scc'])} / {fmt(mb['scc'])} | {fmt(m['rmse'])} / {fmt(mb['rmse'])} |"
            )
    return lines


def compare(args: argparse.Namespace) -> None:
    from lmm_apa.align.evidence_scorer import EvidenceScorer
    from lmm_apa.align.hier_scorer import HierConfig, HierScorer
    from lmm_apa.eval.compare import paired_differences
    from lmm_apa.eval.report import evaluate_predictions

    train, train_al = load_aligned(args.data, "train-minus-dev25", args.cache)
    dev, dev_al = load_aligned(args.data, "dev25", args.cache)
    t0 = time.perf_counter()
    evid = EvidenceScorer().fit(train, train_al, seed=args.seed)
    t_evid = time.perf_counter() - t0
    cfg = HierConfig(
        epochs=args.epochs,
        n_seeds=args.seeds,
        rank_weight=args.rank_weight,
        sentence=args.sentence,
        dropout=args.dropout,
        d_model=args.d_model,
    )
    t0 = time.perf_counter()
    if args.hier_from:
        # a fitted scorer (--save of an earlier run); its phone/word models do not depend on how the
        # sentence scores are made, so "--sentence head" reads its utterance head without refitting
        hier = HierScorer.load(args.hier_from)
        if args.sentence == "head":
            hier.sentence_w = None
        cfg = replace(hier.cfg, sentence=args.sentence)
    else:
        hier = HierScorer(cfg).fit(train, train_al, seed=args.seed)
    t_hier = time.perf_counter() - t0
    n_params = sum(p.numel() for p in hier.models[0].parameters())
    preds_e = {u.utt_id: evid.predict(u.unlabelled(), al) for u, al in zip(dev, dev_al, strict=True)}
    preds_h = {u.utt_id: hier.predict(u.unlabelled(), al) for u, al in zip(dev, dev_al, strict=True)}
    m_e = evaluate_predictions(dev, preds_e, n_boot=args.n_boot)
    m_h = evaluate_predictions(dev, preds_h, n_boot=args.n_boot)
    diff = paired_differences(dev, preds_e, preds_h, n_boot=args.n_boot)
    head = (
        f"fit on {len(train)} train-minus-dev25 recordings, scored on {len(dev)} dev25 recordings "
        f"({len({u.speaker for u in dev})} speakers); HierScorer {n_params} parameters a model, "
        f"{cfg.n_seeds} seed(s), {cfg.epochs} epochs, d_model {cfg.d_model}, dropout {cfg.dropout}, "
        f"rank_weight {cfg.rank_weight}, "
        f"sentence {cfg.sentence}: fit {t_hier:.0f} s "
        f"(EvidenceScorer {t_evid:.0f} s). diff = HierScorer - EvidenceScorer, paired speaker bootstrap."
    )
    lines = [head, "", *_table(m_e, m_h, diff)]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "args": {k: str(v) for k, v in vars(args).items()},
        "n_params": n_params,
        "fit_seconds": {"hier": t_hier, "evidence": t_evid},
        "history": hier.history,
        "metrics": {"evidence": m_e, "hier": m_h},
        "paired_hier_minus_evidence": diff,
    }
    out.with_suffix(".json").write_text(json.dumps(result, indent=2))
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    if args.save:
        hier.save(args.save, fit_split="train-minus-dev25")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("stage", choices=("align", "compare"))
    p.add_argument("--data", default="../shared/speechocean762")
    p.add_argument("--frames", type=Path, default=Path("/work/cache/frames"))
    p.add_argument("--cache", type=Path, default=Path("/work/cache/hier"))
    p.add_argument("--out", default="bench/results/hier_scorer")
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--seeds", type=int, default=1)
    p.add_argument("--rank-weight", type=float, default=0.0)
    p.add_argument("--dropout", type=float, default=0.3)
    p.add_argument("--d-model", type=int, default=96)
    p.add_argument("--sentence", choices=("head", "ridge"), default="head")
    p.add_argument("--n-boot", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--hier-from", default=None, help="load this fitted HierScorer instead of fitting")
    p.add_argument("--save", default=None, help="write the fitted HierScorer into this folder")
    args = p.parse_args()
    if args.stage == "align":
        align_cached(args.data, args.frames, args.cache)
    else:
        compare(args)


if __name__ == "__main__":
    main()
