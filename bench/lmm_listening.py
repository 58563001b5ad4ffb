"""Does the LMM alone still listen? Held-out recordings scored against their own text and another's.

    HF_HUB_OFFLINE=1 OMP_NUM_THREADS=2 .venv/bin/python bench/lmm_listening.py default runs/room2/final \\
        --out bench/results/lmm_listening_dev25

For each model (as ``--model`` takes it; the LMM's own scores: ``lmm_share=1``, no blend with the
evidence readout, `Scorer.lmm_scores`), ``--n`` recordings spread over ``--split``'s speakers
(dev25: neither the shipped LMM nor the aligner trained on them) are scored against their own text
and against the next recording's (different) text. A model that listens keeps its own text high
and scores the other text's sentence and words near 0. Reported: the mean own sentence accuracy,
and against the other text the mean, maximum and count above 3 of sentence accuracy, and the mean
word accuracy. The previous default, whose LMM reads another aligner's evidence, is measured from
its own checkout (``git worktree add``), since the aligner is part of the package.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from lmm_apa.data.audio import load_audio
from lmm_apa.data.splits import load_split
from lmm_apa.eval.listening import against_other_text
from lmm_apa.eval.report import spread_sample
from lmm_apa.infer.scorer import load_scorer


def measure(model: str, items: list[tuple[np.ndarray, str]]) -> dict:
    got = against_other_text(load_scorer(model, lmm_share=1), items)
    own, other, words = got["own"], got["other"], got["other_words"]
    return {
        "model": model,
        "n": len(items),
        "own_sentence_accuracy": round(float(np.mean(own)), 2),
        "other_sentence_accuracy": round(float(np.mean(other)), 2),
        "other_sentence_accuracy_max": round(float(np.max(other)), 2),
        "other_sentence_accuracy_above_3": int(sum(x > 3 for x in other)),
        "other_word_accuracy": round(float(np.mean(words)), 2),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("models", nargs="+")
    p.add_argument("--data", default="../shared/speechocean762")
    p.add_argument("--split", default="dev25")
    p.add_argument("--n", type=int, default=16)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", type=Path, help="writes OUT.json and OUT.md")
    args = p.parse_args()
    utts = spread_sample(load_split(args.data, args.split), args.n, seed=args.seed)
    items = [(load_audio(u.audio_path), u.text) for u in utts]
    rows = [measure(m, items) for m in args.models]
    lines = [
        f"{args.split}: {len(items)} recordings (spread_sample seed {args.seed}); the LMM alone "
        "(lmm_share=1)",
        "",
        "| model | own text: sentence acc | other text: sentence acc mean | max | above 3 | word acc mean |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['own_sentence_accuracy']} | {r['other_sentence_accuracy']} | "
            f"{r['other_sentence_accuracy_max']} | {r['other_sentence_accuracy_above_3']}/{r['n']} | "
            f"{r['other_word_accuracy']} |"
        )
    print("\n".join(lines))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.with_suffix(".json").write_text(
            json.dumps({"args": vars(args) | {"out": str(args.out)}, "rows": rows}, indent=2) + "\n"
        )
        args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
