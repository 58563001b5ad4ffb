"""Two aligners (phone head + evidence readout folders) on the same held-out recordings, paired.

    OMP_NUM_THREADS=2 .venv/bin/python bench/aligner_compare.py --data ../shared/speechocean762 \\
        --a src/lmm_apa/weights/aligner --b runs/align/room1 --split dev25 \\
        --out bench/results/aligner_room1_vs_shipped_dev25

Each recording of ``--split`` is aligned to its text from its cached encoder frames (the clean
recording, as `lmm-apa align fit-readout` measures it; ``--cache``, built on first use) by each
aligner and scored from its evidence alone: per aspect, A's and B's PCC and SCC and B minus A with
the paired speaker-bootstrap 95% interval (`lmm_apa.eval.compare`). Both folders hold
`phone_head.*` and `readout.*`, as `lmm-apa align train-head` and `fit-readout` write them.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def scored(folder: str, utts: list, frames: dict) -> dict:
    from lmm_apa.align.aligner import Aligner
    from lmm_apa.align.evidence_scorer import EvidenceScorer
    from lmm_apa.align.fit import align_all

    readout = EvidenceScorer.load(folder)
    als = align_all(Aligner(head_dir=folder), utts, frames)
    return {u.utt_id: readout.predict(u.unlabelled(), al) for u, al in zip(utts, als, strict=True)}


def main() -> None:
    from compare_predictions import paired_table

    from lmm_apa.align.train_head import frame_cache
    from lmm_apa.data.splits import load_split

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="../shared/speechocean762")
    p.add_argument("--split", default="dev25")
    p.add_argument("--a", required=True, help="aligner folder A (the baseline)")
    p.add_argument("--b", required=True, help="aligner folder B")
    p.add_argument("--cache", default="runs/align/frames")
    p.add_argument("--n-boot", type=int, default=1000)
    p.add_argument("--out", required=True)
    args = p.parse_args()

    dev = load_split(args.data, args.split)
    frames = frame_cache(dev, args.cache)
    a, b = scored(args.a, dev, frames), scored(args.b, dev, frames)
    lines, diff = paired_table(dev, a, b, args.n_boot, f"A = {args.a}, B = {args.b}", args.split)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps({"args": vars(args), "paired": diff}, indent=2))
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
