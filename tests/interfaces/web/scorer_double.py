"""A test double of `lmm_apa.infer.scorer.Scorer`: deterministic, schema-valid scores from the audio.

Not a pronunciation model: each word gets an equal slice of the recording and scores from that
slice's loudness (louder -> higher), so different audio gives different, reproducible scores, and
the web app can be tested end to end (upload, decode, queue, JSON, page) without a trained model.
`scripts/load_check.py --scorer tests/interfaces/web/scorer_double.py:EnergyScorer` uses it too.

It also answers as a forced aligner would, by position, so that every kind of finding is on every
response: the word before the last is omitted (from three words on), the last word is mispronounced
(its weakest phone heard as a sound Mandarin-L1 speakers often put in its place), and the end of the
first word's slice is extra speech. Words and phones span their slices.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from lmm_apa.data.audio import SAMPLE_RATE
from lmm_apa.data.lexicon import canonical_words
from lmm_apa.data.records import Insertion, Phone, Utterance, Word

# The sound heard instead (CMU ARPAbet, no stress digit); others are heard as AH (AH as AA).
SUBSTITUTES = {"TH": "S", "DH": "D", "V": "W", "R": "L", "L": "R", "Z": "S", "EH": "AE", "AE": "EH",
               "IH": "IY", "IY": "IH", "UH": "UW", "N": "NG", "AO": "OW"}  # fmt: skip
# The first word ends here in its slice; the rest of the slice is an insertion.
FIRST_WORD_SHARE = 0.8


class EnergyScorer:
    """`delay` seconds of pretend work per call; counts concurrent calls (`max_concurrent`)."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.calls = 0
        self.max_concurrent = 0
        self.last_samples = 0  # length of the last wave scored
        self._active = 0
        self._lock = threading.Lock()

    def score(self, wave: np.ndarray, text: str, utt_id: str = "input") -> Utterance:
        with self._lock:
            self._active += 1
            self.calls += 1
            self.last_samples = len(wave)
            self.max_concurrent = max(self.max_concurrent, self._active)
        try:
            if self.delay:
                time.sleep(self.delay)
            return self._score(wave, text, utt_id)
        finally:
            with self._lock:
                self._active -= 1

    def _score(self, wave: np.ndarray, text: str, utt_id: str) -> Utterance:
        canon = canonical_words(text)
        n = len(canon)
        slices = np.array_split(wave, n)
        omitted = n - 2 if n >= 3 else None
        words = []
        offset = 0  # samples
        for i, ((word, phones), part) in enumerate(zip(canon, slices, strict=True)):
            level = _level(part)  # 0..1
            accuracy = round(10 * level)
            phone_slices = np.array_split(part, len(phones))
            phone_accs = [round(2 * _level(s), 1) for s in phone_slices]
            start, end = offset / SAMPLE_RATE, (offset + len(part)) / SAMPLE_RATE
            offset += len(part)
            if i == 0 and n > 1:
                end = start + FIRST_WORD_SHARE * (end - start)
            bounds = list(np.linspace(start, end, len(phones) + 1))
            timing: dict[str, Any] = {
                "start": round(start, 3),
                "end": round(end, 3),
                "error_type": "none",
                "phones_start": [round(float(t), 3) for t in bounds[:-1]],
                "phones_end": [round(float(t), 3) for t in bounds[1:]],
                "phones_heard": [None] * len(phones),
            }
            if i == omitted:
                accuracy, phone_accs = 0, [0.0] * len(phones)
                timing.update(start=None, end=None, error_type="omission")
                timing.update(phones_start=[None] * len(phones), phones_end=[None] * len(phones))
            elif i == n - 1:
                worst = int(np.argmin(phone_accs))
                accuracy, phone_accs[worst] = min(accuracy, 6), min(phone_accs[worst], 0.8)
                timing["error_type"] = "mispronunciation"
                timing["phones_heard"][worst] = _substitute(phones[worst])
            words.append(
                Word(
                    text=word,
                    accuracy=accuracy,
                    stress=10.0 if level > 0.3 else 5.0,
                    total=accuracy,
                    phones=[Phone(symbol=p, accuracy=a) for p, a in zip(phones, phone_accs, strict=True)],
                    **timing,
                )
            )
        overall = float(np.mean([w.accuracy for w in words]))
        first = len(slices[0]) / SAMPLE_RATE
        insertions = []
        if n > 1:  # the end of the first word's slice, up to the second word
            insertions.append(
                Insertion(start=round(FIRST_WORD_SHARE * first, 3), end=round(first, 3), after_word=0)
            )
        return Utterance(
            utt_id=utt_id,
            text=" ".join(w.text for w in words),
            words=words,
            accuracy=round(overall),
            completeness=round(10 * (n - (omitted is not None)) / n),
            fluency=round(10 * _level(wave)),
            prosodic=round(10 * _level(wave)),
            total=round(overall),
            insertions=insertions,
        )


@dataclass
class _Result:
    """Shaped like `lmm_apa.infer.scorer.ScoreResult`: the utterance and its JSON with extras."""

    utterance: Utterance
    spread: float

    def to_json(self) -> dict[str, Any]:
        out = self.utterance.to_corpus_dict()
        words = [
            {"text": w.text, "total": self.spread, "phones-accuracy": [self.spread / 5] * len(w.phones)}
            for w in self.utterance.words
        ]
        out["uncertainty"] = {"accuracy": self.spread, "words": words}
        return out


class UncertainScorer(EnergyScorer):
    """Also offers `assess_text` with uncertainty, as the one-pass scorer does."""

    def assess_text(self, wave: np.ndarray, text: str, utt_id: str = "input") -> _Result:
        return _Result(self.score(wave, text, utt_id), spread=1.25)


class ScriptTranscriber:
    """A stand-in for Whisper (`create_app(transcriber=...)`): says ``text`` was said, or, when
    ``text`` is None, raises the no-speech error the real one raises."""

    def __init__(self, text: str | None = "We call it bear.") -> None:
        self.text, self.calls = text, 0

    def __call__(self, wave: np.ndarray) -> str:
        from lmm_apa.errors import AudioError

        self.calls += 1
        if self.text is None:
            raise AudioError("no speech found in the recording: nothing to transcribe and score")
        return self.text


def _substitute(phone: str) -> str:
    base = phone.rstrip("012")
    return SUBSTITUTES.get(base, "AA" if base == "AH" else "AH")


def _level(x: np.ndarray) -> float:
    """RMS level mapped from [-50, -10] dBFS to [0, 1]."""
    if x.size == 0:
        return 0.0
    rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))
    db = 20 * np.log10(max(rms, 1e-9))
    return float(np.clip((db + 50) / 40, 0.0, 1.0))
