"""A test double of `lmm_apa.infer.scorer.Scorer`: deterministic, schema-valid scores from the audio.

Not a pronunciation model: each word gets an equal slice of the recording and scores from that
slice's loudness (louder -> higher), so different audio gives different, reproducible scores, and
the web app can be tested end to end (upload, decode, queue, JSON, page) without a trained model.
`scripts/load_check.py --scorer tests/interfaces/web/scorer_double.py:EnergyScorer` uses it too.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from lmm_apa.data.lexicon import canonical_words
from lmm_apa.data.records import Phone, Utterance, Word


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
        slices = np.array_split(wave, len(canon))
        words = []
        for (word, phones), part in zip(canon, slices, strict=True):
            level = _level(part)  # 0..1
            accuracy = round(10 * level)
            phone_slices = np.array_split(part, len(phones))
            words.append(
                Word(
                    text=word,
                    accuracy=accuracy,
                    stress=10.0 if level > 0.3 else 5.0,
                    total=accuracy,
                    phones=[
                        Phone(symbol=p, accuracy=round(2 * _level(s), 1))
                        for p, s in zip(phones, phone_slices, strict=True)
                    ],
                )
            )
        overall = float(np.mean([w.accuracy for w in words]))
        return Utterance(
            utt_id=utt_id,
            text=" ".join(w.text for w in words),
            words=words,
            accuracy=round(overall),
            completeness=10.0,
            fluency=round(10 * _level(wave)),
            prosodic=round(10 * _level(wave)),
            total=round(overall),
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


def _level(x: np.ndarray) -> float:
    """RMS level mapped from [-50, -10] dBFS to [0, 1]."""
    if x.size == 0:
        return 0.0
    rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))
    db = 20 * np.log10(max(rms, 1e-9))
    return float(np.clip((db + 50) / 40, 0.0, 1.0))
