"""A simple non-LMM baseline predictor: what any model must beat to be worth its GPU hours.

- Sentence aspects: ridge regression on a handful of acoustic statistics of the recording (length,
  speech rate, pauses from an energy voice-activity detector, level and spectral shape). The text
  is known at scoring time, so counts of canonical words and phones are fair inputs too.
- Word and phone scores: a prior per item (train mean per word text; per phone, the mean of that
  phone in that position of that word, shrunk to the phone symbol's mean, shrunk to the global
  mean), shifted by how far the utterance's predicted sentence accuracy is from the train mean.

It is fit on training utterances only and never reads the labels of what it predicts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from lmm_apa.data.records import ASPECTS, SCALES, Phone, Utterance, Word
from lmm_apa.ridge import ridge

SAMPLE_RATE = 16000
FRAME = 400  # 25 ms
HOP = 160  # 10 ms
LONG_PAUSE_S = 0.25  # a pause a listener notices inside a sentence
FEATURE_NAMES: tuple[str, ...] = (
    "log_duration",
    "log_speech_span",
    "voiced_seconds",
    "phones_per_voiced_second",
    "phones_per_span_second",
    "pause_ratio",
    "long_pauses",
    "long_pauses_per_word_gap",
    "lead_trail_silence",
    "voiced_db_std",
    "dynamic_range_db",
    "spectral_flatness",
    "spectral_centroid_khz",
    "n_words",
    "n_phones",
)


def acoustic_features(wave: np.ndarray, n_words: int, n_phones: int) -> np.ndarray:
    """`FEATURE_NAMES` of one 16 kHz recording whose reference text has the given counts."""
    wave = np.asarray(wave, dtype=np.float64)
    if len(wave) < FRAME:
        wave = np.pad(wave, (0, FRAME - len(wave)))
    frames = np.lib.stride_tricks.sliding_window_view(wave, FRAME)[::HOP]
    db = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-10)
    floor, peak = np.percentile(db, [10, 99])
    # The threshold adapts to each recording's noise floor and level: the corpus is recorded on
    # varied devices, some quiet (peaks near -24 dBFS), so a fixed dBFS gate would fail.
    voiced = db > floor + 0.35 * (peak - floor)
    idx = np.flatnonzero(voiced)
    hop_s = HOP / SAMPLE_RATE
    if len(idx) == 0:
        idx = np.array([0, len(db) - 1])
    first, last = idx[0], idx[-1]
    span = voiced[first : last + 1]
    span_s = len(span) * hop_s
    voiced_s = max(span.sum() * hop_s, hop_s)
    pauses = _runs(~span) * hop_s
    long_pauses = pauses[pauses >= LONG_PAUSE_S]

    window = np.hanning(FRAME)
    spec = np.abs(np.fft.rfft(frames[voiced] * window, axis=1)) ** 2 + 1e-12
    flatness = np.exp(np.mean(np.log(spec), axis=1)) / np.mean(spec, axis=1)
    freqs = np.fft.rfftfreq(FRAME, 1 / SAMPLE_RATE)
    centroid = (spec @ freqs) / spec.sum(axis=1)
    return np.array(
        [
            np.log(len(wave) / SAMPLE_RATE),
            np.log(span_s),
            voiced_s,
            n_phones / voiced_s,
            n_phones / span_s,
            1 - span.mean(),
            len(long_pauses),
            len(long_pauses) / max(n_words - 1, 1),
            (len(db) - len(span)) * hop_s,
            float(np.std(db[voiced])) if voiced.any() else 0.0,
            peak - floor,
            float(np.mean(flatness)) if len(flatness) else 0.0,
            float(np.mean(centroid)) / 1000 if len(centroid) else 0.0,
            n_words,
            n_phones,
        ]
    )


def _runs(mask: np.ndarray) -> np.ndarray:
    """Lengths of the runs of True in a boolean array."""
    padded = np.r_[False, mask, False].astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return edges[1::2] - edges[::2]


def extract_features(utts: Sequence[Utterance]) -> np.ndarray:
    """(n_utts, n_features) matrix, reading audio through `load_audio`.

    Serial on purpose: a recording takes about 2 ms, so the 2500 train files take seconds and a
    process pool would cost more to start than it saves.
    """
    from lmm_apa.data.audio import load_audio

    rows = [
        acoustic_features(load_audio(u.audio_path, max_seconds=None), len(u.words), len(u.phones))
        for u in utts
    ]
    return np.stack(rows)


def _speaker_folds(speakers: Sequence[str], k: int) -> np.ndarray:
    """Fold index per item, whole speakers per fold (round robin over sorted speakers)."""
    order = {s: i % k for i, s in enumerate(sorted(set(speakers)))}
    return np.array([order[s] for s in speakers])


def _phone_keys(word: Word, j: int) -> tuple:
    """Prior keys of a word's j-th phone, specific to general: this phone of this word, the symbol."""
    symbol = word.phones[j].symbol
    return ((word.text.upper(), j, symbol), (symbol,))


def _shrunk_mean(total: float, count: int, prior: float, strength: float) -> float:
    return (total + strength * prior) / (count + strength)


@dataclass
class BaselinePredictor:
    """Ridge on acoustic statistics for sentences; shrunk item priors + sentence shift below."""

    alphas: tuple[float, ...] = (0.1, 1.0, 10.0, 100.0, 1000.0, 10000.0)
    n_folds: int = 5
    shrink: float = 5.0  # pseudo-count: a word seen 5 times is half its own mean, half the prior
    mean_: np.ndarray | None = None
    std_: np.ndarray | None = None
    coef_: dict[str, np.ndarray] = field(default_factory=dict)
    alpha_: dict[str, float] = field(default_factory=dict)
    sentence_mean_: float = 0.0
    global_: dict[tuple[str, str], float] = field(default_factory=dict)
    stats_: dict[tuple[str, str], dict] = field(default_factory=dict)
    slope_: dict[tuple[str, str], float] = field(default_factory=dict)

    def _design(self, feats: np.ndarray) -> np.ndarray:
        z = (feats - self.mean_) / self.std_
        return np.hstack([np.ones((len(z), 1)), z])

    def fit(self, utts: Sequence[Utterance], feats: np.ndarray) -> BaselinePredictor:
        self.mean_ = feats.mean(axis=0)
        self.std_ = feats.std(axis=0) + 1e-9
        x = self._design(feats)
        folds = _speaker_folds([u.speaker or u.utt_id for u in utts], self.n_folds)
        oof_accuracy = None
        for aspect in ASPECTS["sentence"]:
            y = np.array([u.score(aspect) for u in utts], dtype=float)
            # Out-of-fold predictions by speaker choose alpha honestly, and give the word and phone
            # levels sentence predictions as noisy as those they will see at test time.
            best = None
            for alpha in self.alphas:
                oof = np.empty(len(y))
                for f in range(self.n_folds):
                    tr = folds != f
                    oof[~tr] = x[~tr] @ ridge(x[tr], y[tr], alpha, free=0)
                mse = float(np.mean((oof - y) ** 2))
                if best is None or mse < best[0]:
                    best = (mse, alpha, oof)
            _, self.alpha_[aspect], oof = best
            self.coef_[aspect] = ridge(x, y, self.alpha_[aspect], free=0)
            if aspect == "accuracy":
                oof_accuracy, self.sentence_mean_ = oof, float(y.mean())
        self._fit_items(utts, oof_accuracy - self.sentence_mean_)
        return self

    def _item_keys(self, utt: Utterance):
        """(granularity, aspect, keys from specific to general, label object) for each scored item."""
        for w in utt.words:
            for aspect in ASPECTS["word"]:
                yield "word", aspect, (w.text.upper(),), w
            for j, p in enumerate(w.phones):
                yield "phone", "accuracy", _phone_keys(w, j), p

    def _fit_items(self, utts: Sequence[Utterance], shift: np.ndarray) -> None:
        sums: dict[tuple[str, str], dict] = defaultdict(lambda: defaultdict(lambda: [0.0, 0]))
        rows = []
        for i, utt in enumerate(utts):
            for gran, aspect, keys, obj in self._item_keys(utt):
                y = getattr(obj, aspect)
                if y is None:
                    continue
                for key in keys:
                    s = sums[(gran, aspect)][key]
                    s[0] += y
                    s[1] += 1
                rows.append((gran, aspect, keys, y, shift[i]))
        self.stats_ = {ga: dict(d) for ga, d in sums.items()}
        for ga in self.stats_:
            ys = [r[3] for r in rows if (r[0], r[1]) == ga]
            self.global_[ga] = float(np.mean(ys))
        # Slope of (label - leave-one-out prior) on the utterance's out-of-fold sentence shift.
        resid: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
        for gran, aspect, keys, y, s in rows:
            prior = self._prior((gran, aspect), keys, leave_out=y)
            resid[(gran, aspect)].append((y - prior, s))
        for ga, pairs in resid.items():
            r, s = np.array(pairs).T
            self.slope_[ga] = float(s @ r / (s @ s)) if s @ s > 0 else 0.0

    def _prior(self, ga: tuple[str, str], keys: tuple, leave_out: float | None = None) -> float:
        prior = self.global_[ga]
        # General keys first: each more specific mean is shrunk towards the one before it.
        for key in reversed(keys):
            total, count = self.stats_[ga].get(key, (0.0, 0))
            if leave_out is not None:
                total, count = total - leave_out, count - 1
            prior = _shrunk_mean(total, count, prior, self.shrink)
        return prior

    def _item(self, gran: str, aspect: str, keys: tuple, shift: float) -> float:
        ga = (gran, aspect)
        value = self._prior(ga, keys) + self.slope_.get(ga, 0.0) * shift
        return float(np.clip(value, *SCALES[ga]))

    def predict(self, utts: Sequence[Utterance], feats: np.ndarray) -> list[Utterance]:
        """Utterances with every score predicted; text, words and phone symbols kept from input.

        Reads only text, words, phone symbols and speaker of ``utts`` (never their scores).
        """
        x = self._design(feats)
        sent = {a: np.clip(x @ c, *SCALES[("sentence", a)]) for a, c in self.coef_.items()}
        out = []
        for i, utt in enumerate(utts):
            shift = sent["accuracy"][i] - self.sentence_mean_
            words = []
            for w in utt.words:
                text = w.text.upper()
                phones = [
                    Phone(symbol=p.symbol, accuracy=self._item("phone", "accuracy", _phone_keys(w, j), shift))
                    for j, p in enumerate(w.phones)
                ]
                scores = {a: self._item("word", a, (text,), shift) for a in ASPECTS["word"]}
                words.append(Word(text=w.text, phones=phones, **scores))
            sentence = {a: float(v[i]) for a, v in sent.items()}
            out.append(
                Utterance(utt_id=utt.utt_id, text=utt.text, words=words, speaker=utt.speaker, **sentence)
            )
        return out
