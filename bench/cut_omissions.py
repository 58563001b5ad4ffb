"""Unsaid words at an abrupt cut: does the aligner still hear that the words after it were not said?

Each of ``--n`` dev25 recordings (4 words or more, spread over the speakers) is scored whole by the
evidence scorer on the frozen encoder, then cut at the aligned start of its middle word and scored
again, once through the frozen encoder (CTranslate2) and once through the aligner's own encoder
(the room adapter's, when the shipped aligner carries one). Reported per encoder: the share of the
cut words flagged as omissions, the share of recordings whose first cut word is, the cut words' and
the kept words' mean accuracy.

    OMP_NUM_THREADS=2 python bench/cut_omissions.py --n 40 --out bench/results/cut_omissions_encoder_room
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def main() -> None:
    from lmm_apa.data.audio import load_audio
    from lmm_apa.data.splits import load_split
    from lmm_apa.eval.report import spread_sample
    from lmm_apa.infer.scorer import load_scorer
    from lmm_apa.models.parts import whisper_ct2_dir
    from lmm_apa.models.whisper_ct2 import CT2WhisperEncoder

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="../shared/speechocean762")
    p.add_argument("--split", default="dev25")
    p.add_argument("--n", type=int, default=40)
    p.add_argument("--out", default="bench/results/cut_omissions")
    args = p.parse_args()

    scorer = load_scorer("evidence")
    frozen = CT2WhisperEncoder(whisper_ct2_dir())
    encoders = {"frozen (CTranslate2)": frozen, "aligner's": scorer.listener.encoder}
    pool = spread_sample(load_split(args.data, args.split), 3 * args.n)
    utts = [u for u in pool if len(u.words) >= 4][: args.n]
    rows: dict[str, list[tuple[float, float, float, float]]] = {k: [] for k in encoders}
    for u in utts:
        ref, wave = u.unlabelled(), load_audio(u.audio_path)
        scorer.listener.encoder = encoders["frozen (CTranslate2)"]
        k = len(u.words) // 2
        cut = wave[: int(scorer.assess(ref, wave).utterance.words[k].start * 16000)]
        for name, encoder in encoders.items():
            scorer.listener.encoder = encoder
            words = scorer.assess(ref, cut).utterance.words
            omitted = [w.error_type == "omission" for w in words[k:]]
            rows[name].append(
                (
                    float(np.mean(omitted)),
                    float(omitted[0]),
                    float(np.mean([w.accuracy for w in words[k:]])),
                    float(np.mean([w.accuracy for w in words[:k]])),
                )
            )
    means = {name: np.mean(v, axis=0).round(3).tolist() for name, v in rows.items()}
    cols = ("cut words omitted", "first cut word omitted", "cut words' accuracy", "kept words' accuracy")
    report = {
        "args": vars(args),
        "recordings": len(utts),
        "adapter": str(getattr(encoders["aligner's"], "adapter", None)),
        "results": {name: dict(zip(cols, m, strict=True)) for name, m in means.items()},
    }
    lines = [
        f"{len(utts)} {args.split} recordings cut at the aligned start of their middle word; evidence scorer "
        f"(aligner's encoder: {report['adapter']})",
        "",
        "| encoder | " + " | ".join(cols) + " |",
        "|---" * (len(cols) + 1) + "|",
    ]
    for name, r in report["results"].items():
        lines.append(f"| {name} | " + " | ".join(f"{r[c]:.3f}" for c in cols) + " |")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(report, indent=2))
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
