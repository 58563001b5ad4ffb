"""What listening costs: the aligner's front end on recordings of growing length (2 CPU cores).

    OMP_NUM_THREADS=2 .venv/bin/python bench/frontend_speed.py --data ../shared/speechocean762 \\
        --out bench/results/frontend_speed

Recordings of ~2, 4, 8, 16 and 30 s are made by joining train-split recordings (their texts joined
too). For each: the Whisper-base encoder (shared with the default backbone, which then skips its
own encoding), the phone recogniser, the forced alignment, the evidence and its readout; the median
of --repeats runs. "added" is what scoring pays on top of the default backbone's own encoding.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from functools import partial
from pathlib import Path

import numpy as np


def timed(fn, repeats: int):
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main() -> None:
    import torch

    from lmm_apa.align.aligner import align_posteriors
    from lmm_apa.align.frontend import Listener
    from lmm_apa.data.audio import load_audio
    from lmm_apa.data.splits import load_split
    from lmm_apa.infer.reference import reference_utterance

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="../shared/speechocean762")
    p.add_argument("--seconds", default="2,4,8,16,30")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--out", default="bench/results/frontend_speed")
    args = p.parse_args()

    listener = Listener()
    utts = load_split(args.data, "dev25")
    rows = []
    for target in [float(s) for s in args.seconds.split(",")]:
        waves, texts, total = [], [], 0.0
        for u in utts:  # fill up to the target with whole recordings that fit
            wave = load_audio(u.audio_path)
            if total + len(wave) / 16000 <= target:
                waves.append(wave)
                texts.append(u.text)
                total += len(wave) / 16000
            if total >= target - 0.8:
                break
        wave = np.concatenate(waves)
        ref = reference_utterance(" ".join(texts))
        enc_s, frames = timed(partial(listener.encoder.frames, wave), args.repeats)
        head_s, (logp, hidden) = timed(partial(listener.aligner.head.posteriors, frames), args.repeats)
        align_s, al = timed(partial(align_posteriors, logp, hidden, frames, ref), args.repeats)
        read_s, _ = timed(partial(listener.evidence_scorer.predict, ref, al), args.repeats)
        added = head_s + align_s + read_s
        rows.append(
            {
                "seconds": round(len(wave) / 16000, 2),
                "words": len(ref.words),
                "phones": len(ref.phones),
                "encoder_s": round(enc_s, 4),
                "recogniser_s": round(head_s, 4),
                "alignment_s": round(align_s, 4),
                "readout_s": round(read_s, 4),
                "added_s": round(added, 4),
                "added_per_audio_second_ms": round(1000 * added / (len(wave) / 16000), 2),
            }
        )
        print(json.dumps(rows[-1]))
    lines = [
        f"torch threads: {torch.get_num_threads()}; median of {args.repeats} runs",
        "",
        "| audio s | words | phones | encoder s (shared) | recogniser s | alignment s | readout s "
        "| added s | added ms per audio s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['seconds']} | {r['words']} | {r['phones']} | {r['encoder_s']:.3f} | "
            f"{r['recogniser_s']:.3f} | {r['alignment_s']:.3f} | {r['readout_s']:.3f} | {r['added_s']:.3f} | "
            f"{r['added_per_audio_second_ms']} |"
        )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps({"args": vars(args), "rows": rows}, indent=2))
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
