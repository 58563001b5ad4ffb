"""Recordings whose speech runs into the file's end get no silence added after it (data/speech.py).
Measures how far that moves their scores: each such recording among the equivalence set's 50 train
recordings scored as it is and padded with 1 s of silence a side (then cut to its own 0.5 s).

    HF_HUB_OFFLINE=1 python scripts/edge_silence_check.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # scripts/ is not a package
from check_equivalence import DATA, manifest_rows  # noqa: E402

from lmm_apa.data.audio import SAMPLE_RATE, load_audio  # noqa: E402
from lmm_apa.data.speech import find_speech  # noqa: E402
from lmm_apa.infer.reference import reference_utterance  # noqa: E402
from lmm_apa.infer.scorer import load_scorer  # noqa: E402

EDGE = SAMPLE_RATE // 50


def main() -> None:
    scorer = load_scorer("default", precision="fp32")
    silence = np.zeros(SAMPLE_RATE, np.float32)
    for row in manifest_rows(DATA, 50, 50):
        wave = load_audio(row["audio"])
        onset, offset = find_speech(wave).cut(0.0)
        if onset > EDGE and offset < len(wave) - EDGE:
            continue
        ref = reference_utterance(row["text"], row["utt_id"])
        a = scorer.assess(ref, wave).utterance
        b = scorer.assess(ref, np.concatenate([silence, wave, silence])).utterance
        words = [round(x.accuracy - y.accuracy, 2) for x, y in zip(b.words, a.words, strict=True)]
        print(
            f"{row['utt_id']}: total {a.total:.3f} -> {b.total:.3f} ({b.total - a.total:+.3f}); words {words}"
        )


if __name__ == "__main__":
    main()
