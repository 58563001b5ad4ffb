"""Where the speech is in a recording, so that silence before and after it does not count.

`find_speech` runs Silero VAD (the ONNX model faster-whisper ships, offline, a few ms a second of
audio); `trim_to_speech` cuts the recording to its first and last speech plus `MARGIN_S` on each side
and says where the cut began, so that word times can be given on the original recording
(`shift_times`). Why a VAD rather than the aligner's own word span, and why this margin: measured in
docs/robustness.md.

Only the silence before and after is cut. A pause inside a sentence is kept as it is: hesitation is
what raters mark down in fluency, and the scores should hear it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lmm_apa.data.audio import SAMPLE_RATE
from lmm_apa.data.records import Insertion, Utterance

# Silence kept on each side of the speech: the Whisper encoder and the phone recogniser were trained
# on corpus recordings, which have some silence around the words (docs/robustness.md).
MARGIN_S = 0.5
# Silero's speech probability threshold (its default), and the shortest burst taken for speech: a
# click or a breath is shorter.
VAD_THRESHOLD = 0.5
MIN_SPEECH_MS = 120
VAD_PEAK = 0.5
# Leading silence after which the VAD listens a second time from just before the speech (below).
REFINE_AFTER_S = 2.0


@dataclass
class SpeechSpan:
    """Speech found in a 16 kHz recording: its segments (samples) and the cut `trim_to_speech` made."""

    segments: list[tuple[int, int]]  # [start, end) in samples of the original, in order
    n_samples: int  # length of the original

    @property
    def found(self) -> bool:
        return bool(self.segments)

    @property
    def seconds(self) -> float:
        return sum(e - s for s, e in self.segments) / SAMPLE_RATE

    def cut(self, margin_s: float | None = None) -> tuple[int, int]:
        """[start, end) samples of the original to keep: the speech plus ``margin_s`` (default
        `MARGIN_S`) each side."""
        if not self.segments:
            return 0, self.n_samples
        m = int((MARGIN_S if margin_s is None else margin_s) * SAMPLE_RATE)
        return max(0, self.segments[0][0] - m), min(self.n_samples, self.segments[-1][1] + m)


def find_speech(wave: np.ndarray) -> SpeechSpan:
    """Silero VAD's speech segments in 16 kHz mono ``wave``."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    options = VadOptions(
        threshold=VAD_THRESHOLD,
        min_speech_duration_ms=MIN_SPEECH_MS,
        # Segments are merged across pauses anyway (only the first start and last end are cut at),
        # and a pad of 0 keeps the segments where Silero hears speech; `MARGIN_S` pads the cut.
        min_silence_duration_ms=300,
        speech_pad_ms=0,
    )
    x = np.asarray(wave, dtype=np.float32)
    # Silero's probabilities depend on the level, and learners' recordings are often quiet (corpus
    # peaks go down to -24 dBFS, a phone far away lower still): the VAD hears the recording brought
    # to one level (its 99.9th-percentile sample at `VAD_PEAK`), so a quiet reading is still speech.
    peak = float(np.percentile(np.abs(x), 99.9)) if len(x) else 0.0
    if peak > 0:
        x = x * (VAD_PEAK / peak)
    segments = [(int(t["start"]), int(t["end"])) for t in get_speech_timestamps(x, options)]
    if segments and segments[0][0] > REFINE_AFTER_S * SAMPLE_RATE:
        # After several seconds of silence Silero is slow to wake: it missed the first word (the
        # first 0.5 s of speech after 8 s of silence, measured). Listening again from shortly
        # before where it woke finds the onset as it does with little silence before it.
        lo = max(0, segments[0][0] - int(REFINE_AFTER_S * SAMPLE_RATE))
        again = [(int(t["start"]) + lo, int(t["end"]) + lo) for t in get_speech_timestamps(x[lo:], options)]
        if again:
            segments = again
    return SpeechSpan(segments, len(wave))


def trim_to_speech(
    wave: np.ndarray, span: SpeechSpan, margin_s: float | None = None
) -> tuple[np.ndarray, float]:
    """(the recording cut to its speech plus ``margin_s`` a side, the cut's start in seconds)."""
    lo, hi = span.cut(margin_s)
    return wave[lo:hi], lo / SAMPLE_RATE


def shift_times(utt: Utterance, offset_s: float) -> Utterance:
    """``utt`` with every time (words, phones, insertions) moved later by ``offset_s`` seconds: times
    read on a trimmed recording, given on the original one."""
    if offset_s == 0:
        return utt

    def at(t: float | None) -> float | None:
        return None if t is None else round(t + offset_s, 3)

    def all_at(ts: list[float | None] | None) -> list[float | None] | None:
        return None if ts is None else [at(t) for t in ts]

    words = [
        w.model_copy(
            update={
                "start": at(w.start),
                "end": at(w.end),
                "phones_start": all_at(w.phones_start),
                "phones_end": all_at(w.phones_end),
            }
        )
        for w in utt.words
    ]
    insertions = [
        Insertion(start=at(i.start), end=at(i.end), after_word=i.after_word) for i in utt.insertions or []
    ]
    update: dict = {"words": words}
    if utt.insertions is not None:
        update["insertions"] = insertions
    return utt.model_copy(update=update)
