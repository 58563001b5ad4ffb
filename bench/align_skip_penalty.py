"""Choose the cost of leaving a word unsaid: omissions on normal readings vs on recordings cut in half.

    .venv/bin/python bench/align_skip_penalty.py --data ../shared/speechocean762 \\
        --out bench/results/align_skip_penalty

On dev25 (speakers the recogniser never saw): for each (base, per-phone) penalty, the share of words
called omitted in the corpus recordings as they are (nearly all words were read: lower is better),
and, on --n recordings cut after half their length, the share of the words past the cut called
omitted (higher is better) and of the words before it (lower is better). Words past / before the
cut are judged by the uncut recording's alignment at the shipped penalty.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import numpy as np


def main() -> None:
    from lmm_apa.align.aligner import Aligner, align_posteriors
    from lmm_apa.align.head import DEFAULT_HEAD
    from lmm_apa.align.train_head import frame_cache
    from lmm_apa.data.audio import load_audio
    from lmm_apa.data.splits import load_split
    from lmm_apa.models.parts import whisper_ct2_dir
    from lmm_apa.models.whisper_ct2 import CT2WhisperEncoder

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="../shared/speechocean762")
    p.add_argument("--head", default=str(DEFAULT_HEAD))
    p.add_argument("--cache", default="runs/align/frames")
    p.add_argument("--n", type=int, default=100)
    p.add_argument("--bases", default="2,4,6,8,12")
    p.add_argument("--per-phone", default="0.5,1.5,3")
    p.add_argument("--out", default="bench/results/align_skip_penalty")
    args = p.parse_args()

    dev = load_split(args.data, "dev25")
    encoder = CT2WhisperEncoder(whisper_ct2_dir())
    cache = frame_cache(dev, args.cache, encoder)
    aligner = Aligner(head_dir=args.head)
    full = []
    for u in dev:
        frames = np.load(cache[u.utt_id]).astype(np.float32)
        full.append((u.unlabelled(), frames, *aligner.head.posteriors(frames)))
    cut = []
    for ref, _, logp, hidden in random.Random(0).sample(full, min(args.n, len(full))):
        u = next(x for x in dev if x.utt_id == ref.utt_id)
        wave = load_audio(u.audio_path)
        half = len(wave) / 2 / 16000
        words = align_posteriors(logp, hidden, np.zeros((len(logp), 1)), ref).words
        frames = encoder.frames(wave[: len(wave) // 2])
        past = [not w.omitted and w.start >= half for w in words]
        before = [not w.omitted and w.end <= half for w in words]
        cut.append((ref, frames, *aligner.head.posteriors(frames), past, before))
    rows = []
    for base in [float(x) for x in args.bases.split(",")]:
        for per in [float(x) for x in args.per_phone.split(",")]:
            normal = [
                w.omitted for ref, f, lp, h in full for w in align_posteriors(lp, h, f, ref, base, per).words
            ]
            past, before = [], []
            for ref, f, lp, h, is_past, is_before in cut:
                for w, a, b in zip(
                    align_posteriors(lp, h, f, ref, base, per).words, is_past, is_before, strict=True
                ):
                    if a:
                        past.append(w.omitted)
                    if b:
                        before.append(w.omitted)
            rows.append(
                {
                    "base": base,
                    "per_phone": per,
                    "omitted_normal": round(float(np.mean(normal)), 4),
                    "omitted_past_cut": round(float(np.mean(past)), 4),
                    "omitted_before_cut": round(float(np.mean(before)), 4),
                }
            )
            print(json.dumps(rows[-1]))
    lines = [
        f"dev25: {len(full)} recordings as read; {len(cut)} cut in half",
        "",
        "| base | per phone | omitted, as read | omitted, past the cut | omitted, before the cut |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['base']:g} | {r['per_phone']:g} | {r['omitted_normal']:.3f} | {r['omitted_past_cut']:.3f} | "
        f"{r['omitted_before_cut']:.3f} |"
        for r in rows
    ]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps({"args": vars(args), "rows": rows}, indent=2))
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
