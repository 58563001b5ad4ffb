"""Does the aligner hear what was said? Scores from its evidence alone, and the listening checks.

    .venv/bin/python bench/evidence_readout.py --data ../shared/speechocean762 \\
        --out bench/results/evidence_readout [--save src/lmm_apa/weights/aligner]

1. Aligns every recording of train-minus-dev25 and dev25 (speaker-disjoint; dev25 is 25 speakers)
   with the phone recogniser (`--head`, trained on train-minus-dev25 only), fits the evidence
   readout (`lmm_apa.align.evidence_scorer`) on train-minus-dev25 (the same head's posteriors on its own
   training recordings: out-of-fold heads were tried and fail, as each head's pooled state has its
   own basis) and scores dev25 through the evaluation
   code of `lmm-apa evaluate`: PCC / SCC / RMSE with speaker-bootstrap CIs.
2. Listening checks on `--n-listen` dev25 recordings: scored against another dev recording's text
   (a different sentence), and cut after half their length (the words the full alignment puts after
   the cut were never said). Reports mean scores and how many words are flagged.
Encoder frames are cached under --cache (the same cache as `python -m lmm_apa.align.train_head`).
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import numpy as np


def align_all(aligner, utts, cache) -> list:
    from lmm_apa.align.aligner import align_posteriors

    out = []
    for u in utts:
        frames = np.load(cache[u.utt_id]).astype(np.float32)
        logp, hidden = aligner.head.posteriors(frames)
        out.append(align_posteriors(logp, hidden, frames, u.unlabelled()))
    return out


def listening(aligner, readout, encoder, dev, cache, n: int, seed: int) -> dict:
    """Wrong-text and cut-in-half checks (see the module docstring)."""
    from lmm_apa.align.evidence_scorer import EvidenceScorer
    from lmm_apa.data.audio import load_audio

    rng = random.Random(seed)
    sample = rng.sample(dev, min(n, len(dev)))
    wrong = {"sentence_accuracy": [], "word_accuracy": [], "flagged": [], "completeness": []}
    own_acc, cut = [], {"unsaid_accuracy": [], "said_accuracy": [], "unsaid_flagged": [], "said_flagged": []}
    for i, u in enumerate(sample):
        frames = np.load(cache[u.utt_id]).astype(np.float32)
        # another sentence: the next sampled recording whose text differs
        other = next(v for v in sample[i + 1 :] + sample[:i] if v.text != u.text)
        al = aligner.align(frames, other.unlabelled())
        pred = readout.predict(other.unlabelled(), al)
        wrong["sentence_accuracy"].append(pred.accuracy)
        wrong["completeness"].append(pred.completeness)
        for w, wa in zip(pred.words, al.words, strict=True):
            wrong["word_accuracy"].append(w.accuracy)
            wrong["flagged"].append(EvidenceScorer.error_type(wa, w.accuracy) != "none")
        own = aligner.align(frames, u.unlabelled())
        own_acc.append(readout.predict(u.unlabelled(), own).accuracy)
        wave = load_audio(u.audio_path)
        half = len(wave) / 2 / 16000
        cut_al = aligner.align(encoder.frames(wave[: len(wave) // 2]), u.unlabelled())
        cut_pred = readout.predict(u.unlabelled(), cut_al)
        for w, full_w, wa in zip(cut_pred.words, own.words, cut_al.words, strict=True):
            if full_w.omitted:
                continue
            flagged = EvidenceScorer.error_type(wa, w.accuracy) != "none"
            if full_w.start >= half:
                cut["unsaid_accuracy"].append(w.accuracy)
                cut["unsaid_flagged"].append(flagged)
            elif full_w.end <= half:
                cut["said_accuracy"].append(w.accuracy)
                cut["said_flagged"].append(flagged)
    mean = lambda x: round(float(np.mean(x)), 3) if len(x) else None  # noqa: E731
    return {
        "n": len(sample),
        "own_text_sentence_accuracy": mean(own_acc),
        "wrong_text": {k: mean(v) for k, v in wrong.items()},
        "cut_half": {k: mean(v) for k, v in cut.items()} | {"n_unsaid": len(cut["unsaid_accuracy"])},
    }


def main() -> None:
    from lmm_apa.align.aligner import Aligner
    from lmm_apa.align.evidence_scorer import EvidenceScorer
    from lmm_apa.align.head import DEFAULT_HEAD
    from lmm_apa.align.train_head import frame_cache
    from lmm_apa.data.splits import load_split
    from lmm_apa.eval.report import evaluate_predictions

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="../shared/speechocean762")
    p.add_argument("--head", default=str(DEFAULT_HEAD))
    p.add_argument("--cache", default="runs/align/frames")
    p.add_argument("--save", default=None, help="write the fitted readout into this folder")
    p.add_argument("--n-listen", type=int, default=100)
    p.add_argument("--n-boot", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()

    train, dev = load_split(args.data, "train-minus-dev25"), load_split(args.data, "dev25")
    from lmm_apa.models.parts import whisper_ct2_dir
    from lmm_apa.models.whisper_ct2 import CT2WhisperEncoder

    encoder = CT2WhisperEncoder(whisper_ct2_dir())
    cache = frame_cache(train + dev, args.cache, encoder)
    aligner = Aligner(head_dir=args.head)
    t0 = time.perf_counter()
    train_al, dev_al = align_all(aligner, train, cache), align_all(aligner, dev, cache)
    align_s = time.perf_counter() - t0
    readout = EvidenceScorer().fit(train, train_al, seed=args.seed)
    preds = {u.utt_id: readout.predict(u.unlabelled(), al) for u, al in zip(dev, dev_al, strict=True)}
    metrics = evaluate_predictions(dev, preds, n_boot=args.n_boot)
    omitted = sum(w.omitted for al in dev_al for w in al.words)
    n_words = sum(len(al.words) for al in dev_al)
    listen = listening(aligner, readout, encoder, dev, cache, args.n_listen, args.seed)

    fmt = lambda x: "—" if x is None else f"{x:.3f}"  # noqa: E731
    lines = [
        f"dev25: {len(dev)} utterances, {len({u.speaker for u in dev})} speakers; readout fit on "
        f"train-minus-dev25 ({len(train)}); words the aligner calls omitted on dev25: {omitted} of {n_words}",
        "",
        "| level | aspect | n | PCC [95% CI] | SCC (cap) | RMSE |",
        "|---|---|---|---|---|---|",
    ]
    for g in ("sentence", "word", "phone"):
        for a, m in metrics[g].items():
            ci = m.get("pcc_ci")
            ci_s = f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else ""
            lines.append(
                f"| {g} | {a} | {m['n']} | {fmt(m['pcc'])}{ci_s} | "
                f"{fmt(m['scc'])} ({fmt(m.get('scc_cap'))}) | "
                f"{fmt(m['rmse'])} |"
            )
    lines += ["", "Listening checks:", "```", json.dumps(listen, indent=2), "```"]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    result = {"args": vars(args), "align_seconds": align_s, "metrics": metrics, "listening": listen}
    out.with_suffix(".json").write_text(json.dumps(result, indent=2))
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    if args.save:
        readout.save(args.save, fit_split="train-minus-dev25", head=args.head)
        print(f"readout saved to {args.save}")


if __name__ == "__main__":
    main()
