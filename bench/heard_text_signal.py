"""What the Whisper decoder's probabilities of the reference words carry, alone, and what they cost.

    OMP_NUM_THREADS=1 python bench/heard_text_signal.py --data ../shared/speechocean762 --n 150

On every 17th train recording (--n of them): the PCC and SCC of each word's mean token
log-probability (`align.heard_text`, teacher-forced through Whisper-base's decoder) against the
word's accuracy label, and of the utterance's mean against its sentence accuracy and total; then
the time to read a recording of about 4 s (median of 10, after one warm-up): the whole reader and
the CTranslate2 encoder pass inside it (what a scorer that passes the aligner's frames would not
repeat). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def main() -> None:
    from scipy.stats import pearsonr, spearmanr

    from lmm_apa.align.heard_text import _reader
    from lmm_apa.data.audio import load_audio
    from lmm_apa.data.speechocean import load_speechocean762

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="../shared/speechocean762")
    p.add_argument("--n", type=int, default=150)
    args = p.parse_args()
    utts = load_speechocean762(args.data, split="train")
    reader = _reader()
    words, sentences = [], []
    for u in utts[::17][: args.n]:
        logprobs = reader.token_logprobs(load_audio(u.audio_path), [w.text for w in u.words])
        words += [(lp.mean(), w.accuracy) for w, lp in zip(u.words, logprobs, strict=True)]
        sentences.append((np.mean([lp.mean() for lp in logprobs]), u.accuracy, u.total))
    w, s = np.array(words), np.array(sentences)
    near4 = min(utts[:300], key=lambda u: abs(len(load_audio(u.audio_path)) / 16000 - 4.0))
    wave, text = load_audio(near4.audio_path), [x.text for x in near4.words]
    mel = reader.encoder.mel(wave)

    def median_seconds(fn) -> float:
        fn()
        times = []
        for _ in range(10):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return round(float(np.median(times)), 4)

    out = {
        "recordings": len(s),
        "words": len(w),
        "word_mean_vs_accuracy": {
            "pcc": round(pearsonr(w[:, 0], w[:, 1])[0], 3),
            "scc": round(spearmanr(w[:, 0], w[:, 1])[0], 3),
        },
        "utterance_mean_vs_accuracy_pcc": round(pearsonr(s[:, 0], s[:, 1])[0], 3),
        "utterance_mean_vs_total_pcc": round(pearsonr(s[:, 0], s[:, 2])[0], 3),
        "seconds_4s_recording": {
            "recording": near4.utt_id,
            "reader": median_seconds(lambda: reader.token_logprobs(wave, text)),
            "encoder_pass_in_it": median_seconds(lambda: reader.encoder.encode_mel(mel)),
        },
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
