"""The before-stop checks of a scoring change, on one train recording through the public API: its own
text, another sentence's text, its first half only, 2 s of silence at both ends, white noise at
20 dB SNR. A model that listens scores the other text and the cut words low; silence moves nothing.

    HF_HUB_OFFLINE=1 python scripts/listening_check.py [--audio FLAC --text "WE CALL IT BEAR"]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from lmm_apa import Assessor, Result
from lmm_apa.data.audio import SAMPLE_RATE, load_audio

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "speechocean762"


def line(tag: str, r: Result) -> str:
    words = ", ".join(f"{w.text} {w.accuracy:.1f}{'' if w.error_type == 'none' else ' ' + str(w.error_type)}"
                      for w in r.words)  # fmt: skip
    return f"{tag:8s} total {r.total:.2f}  completeness {r.completeness:.1f}  {words}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--audio", type=Path, default=DATA / "WAVE/SPEAKER0001/000010011.flac")
    p.add_argument("--text", default="WE CALL IT BEAR")
    p.add_argument("--other", default="The quick brown fox jumps over the lazy dog")
    args = p.parse_args()
    a = Assessor("default")
    wave = load_audio(args.audio)
    silence = np.zeros(2 * SAMPLE_RATE, np.float32)
    noise = np.random.default_rng(0).normal(0, np.sqrt(np.mean(wave**2)) / 10, len(wave)).astype(np.float32)
    cases = {
        "own": (wave, args.text),
        "other": (wave, args.other),
        "half": (wave[: len(wave) // 2], args.text),
        "pad2s": (np.concatenate([silence, wave, silence]), args.text),
        "noise20": (wave + noise, args.text),
    }
    results = {tag: a.score(w, sample_rate=SAMPLE_RATE, text=t) for tag, (w, t) in cases.items()}
    for tag, r in results.items():
        print(line(tag, r))
    own = results["own"]
    for tag in ("pad2s", "noise20"):
        pairs = zip(results[tag].words, own.words, strict=True)
        moved = [round(x.accuracy - y.accuracy, 2) for x, y in pairs]
        print(f"{tag}: total {results[tag].total - own.total:+.3f}, word accuracy changes {moved}")


if __name__ == "__main__":
    main()
