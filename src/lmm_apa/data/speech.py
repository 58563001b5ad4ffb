"""Where the speech is in a recording, so that silence before and after it does not count.

`find_speech` runs Silero VAD (the ONNX model faster-whisper ships, offline, a few ms a second of
audio), then places the speech's first and last sample on the signal's own envelope: Silero decides
in 32 ms windows counted from the file's start, so the same speech after another amount of silence
would be cut up to 32 ms differently, and the Whisper encoder hears a shift of a fraction of its
20 ms frame as another recording (word scores moved by 0.25 on average, measured). `trim_to_speech`
cuts the recording to that speech plus exactly `MARGIN_S` on each side (digital silence added where
the recording has less) and says where the cut began, so that word times can be given on the
original recording (`shift_times`). Why a VAD rather than the aligner's own word span, and why
this margin: measured in docs/robustness.md.

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
# Speech this close to the file's start or end runs into it (20 ms: one encoder frame).
_EDGE_SAMPLES = SAMPLE_RATE // 50
# Silero's speech probability threshold (its default), and the shortest burst taken for speech: a
# click or a breath is shorter.
VAD_THRESHOLD = 0.5
MIN_SPEECH_MS = 120
VAD_PEAK = 0.5
# Where the speech's edges are placed (`_edges`): within this of the VAD's, where the envelope rises
# this far under the speech's mean power and over the background.
EDGE_SEARCH_S = 0.25
EDGE_SURE_DB = 10.0
EDGE_BELOW_SPEECH_DB = 25.0
EDGE_ABOVE_NOISE_DB = 10.0
# Leading silence after which the VAD listens a second time from just before the speech (below).
REFINE_AFTER_S = 2.0


@dataclass
class SpeechSpan:
    """Speech found in a 16 kHz recording: its segments (samples) and the cut `trim_to_speech` made."""

    segments: list[tuple[int, int]]  # [start, end) in samples of the original, in order
    n_samples: int  # length of the original
    # The speech's first sample and one past its last, on the envelope (`_edges`); the segments'
    # own edges when not given.
    onset: int | None = None
    offset: int | None = None

    @property
    def found(self) -> bool:
        return bool(self.segments)

    @property
    def seconds(self) -> float:
        return sum(e - s for s, e in self.segments) / SAMPLE_RATE

    def cut(self, margin_s: float | None = None) -> tuple[int, int]:
        """[start, end) samples to keep: the speech plus ``margin_s`` (default `MARGIN_S`) each
        side; may reach before 0 or past the end (`trim_to_speech` fills that with silence)."""
        if not self.segments:
            return 0, self.n_samples
        m = int((MARGIN_S if margin_s is None else margin_s) * SAMPLE_RATE)
        onset = self.segments[0][0] if self.onset is None else self.onset
        offset = self.segments[-1][1] if self.offset is None else self.offset
        return onset - m, offset + m


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
    if not segments:
        return SpeechSpan([], len(wave))
    onset, offset = _edges(np.asarray(wave, dtype=np.float64), segments)
    return SpeechSpan(segments, len(wave), onset, offset)


def _edges(x: np.ndarray, segments: list[tuple[int, int]]) -> tuple[int, int]:
    """The speech's first sample and one past its last, placed on the 10 ms envelope so that the same
    speech gets the same edges whatever came before it: from the first (last) point near the VAD's
    edge that is surely speech (`EDGE_SURE_DB` under the speech's mean power), back (on) to where
    the envelope falls under the background threshold (`EDGE_BELOW_SPEECH_DB` under the speech, and
    at least `EDGE_ABOVE_NOISE_DB` over the quietest tenth of 20 ms frames). Where no point is sure,
    the VAD's edges."""
    n = int(0.01 * SAMPLE_RATE)
    cum = np.concatenate([[0.0], np.cumsum(x * x)])
    env = (cum[n:] - cum[:-n]) / n  # env[i]: power of x[i : i + n]
    speech = float(np.concatenate([env[s : max(s + 1, e - n)] for s, e in segments]).mean())
    frames = x[: len(x) // (2 * n) * 2 * n].reshape(-1, 2 * n)
    # Digital silence (an app's padding) is no background: the floor is the recording's own.
    power = np.mean(frames**2, axis=1)
    power = power[power > 1e-10]
    noise = float(np.percentile(power, 10)) if len(power) else 0.0
    sure = speech * 10 ** (-EDGE_SURE_DB / 10)
    low = max(speech * 10 ** (-EDGE_BELOW_SPEECH_DB / 10), noise * 10 ** (EDGE_ABOVE_NOISE_DB / 10))
    w = int(EDGE_SEARCH_S * SAMPLE_RATE)
    start, end = segments[0][0], segments[-1][1]

    lo = max(0, start - w)
    hits = np.flatnonzero(env[lo : start + w] >= sure)
    onset = start
    if hits.size:
        anchor = lo + int(hits[0])
        quiet = np.flatnonzero(env[max(0, anchor - 2 * w) : anchor] < low)
        onset = max(0, anchor - 2 * w) + int(quiet[-1]) + 1 if quiet.size else start
    lo = max(0, end - w - n)
    hits = np.flatnonzero(env[lo : end + w] >= sure)
    offset = end
    if hits.size:
        anchor = lo + int(hits[-1])
        quiet = np.flatnonzero(env[anchor : anchor + 2 * w] < low)
        offset = anchor + int(quiet[0]) + n - 1 if quiet.size else end
    return onset, max(min(offset, len(x)), onset + 1)


def trim_to_speech(
    wave: np.ndarray, span: SpeechSpan, margin_s: float | None = None
) -> tuple[np.ndarray, float]:
    """(the recording cut to its speech plus exactly ``margin_s`` a side, the cut's start in seconds
    on the original: negative where silence was added before it)."""
    lo, hi = span.cut(margin_s)
    cut = wave[max(0, lo) : min(len(wave), hi)]
    before, after = max(0, -lo), max(0, hi - len(wave))
    # Speech that runs into the file's edge was cut off there (a recording stopped mid-word): silence
    # added after it would give the aligner room to place the words that were never said.
    onset, offset = span.cut(0.0)
    if onset <= _EDGE_SAMPLES:
        before, lo = 0, max(lo, 0)
    if offset >= len(wave) - _EDGE_SAMPLES:
        after = 0
    if before or after:
        cut = np.concatenate([np.zeros(before, wave.dtype), cut, np.zeros(after, wave.dtype)])
    return cut, lo / SAMPLE_RATE


def shift_times(utt: Utterance, offset_s: float) -> Utterance:
    """``utt`` with every time (words, phones, insertions) moved later by ``offset_s`` seconds: times
    read on a trimmed recording, given on the original one."""
    if offset_s == 0:
        return utt

    def at(t: float | None) -> float | None:
        # a word's edge can reach into the silence added before the recording: it starts at 0
        return None if t is None else round(max(0.0, t + offset_s), 3)

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
