"""Prosody and stress evidence: pitch, loudness and timing over an `Alignment`'s words and phones.

The recogniser's evidence says which sounds were made; raters' word stress, fluency and prosodic
scores also hear how: which syllable stands out, how fast and evenly the speaker reads, where they
pause, whether the voice moves. This module measures that from the wave and the alignment's times.

    track = prosody_track(wave)                 # F0 (semitones) and intensity (dB) every 10 ms
    phone = phone_features(track, alignment)    # (n_phones, len(PHONE_COLUMNS))
    word = word_features(track, alignment)      # (n_words, len(WORD_COLUMNS))
    utt = utterance_features(track, alignment)  # (len(UTTERANCE_COLUMNS),)

All three are float32, finite, and in the reference's order (omitted words and their phones too:
zeros with the ``omitted`` column 1), so they append column-wise to the evidence scorer's
`phone_rows`, `word_rows` and `sentence_row`. Column meanings are listed beside each name below;
units are semitones relative to the speaker's median F0 (``st``), dB relative to the utterance's
median speech level (``db``), seconds (``s``), and z-scores within the utterance (``_z``). Where a
measure is undefined (no voiced frame in a phone, a one-vowel word with no vowel around it) it is 0
and a ``has_*`` flag says so; nothing is NaN.

F0 is Praat's (`praat-parselmouth`): the autocorrelation pitch tracker phoneticians use, 75-600 Hz,
which covers children's and adults' voices (the corpus has both). Findings: docs/prosody.md.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from lmm_apa.align.aligner import Alignment
from lmm_apa.data.records import Utterance

STEP = 0.01  # seconds between track frames: Praat's usual pitch step
PITCH_FLOOR = 75.0  # Hz; also sets Praat's intensity window (6.4 / floor = 85 ms)
PITCH_CEILING = 600.0  # Hz: children's voices in the corpus reach ~450 Hz
# A gap between said words longer than this is a pause. The aligner lets a word's edge phones take up
# to 60 ms of the silence on each side (aligner.EDGE_FRAMES), so this is a ~0.27 s acoustic silence.
PAUSE_MIN_SECONDS = 0.15
VOWELS = frozenset("AA AE AH AO AW AY EH ER EY IH IY OW OY UH UW".split())

PHONE_COLUMNS: tuple[str, ...] = (
    "f0_mean",  # st, over the phone's voiced frames
    "f0_max",  # st
    "f0_slope",  # st/s, least squares over the voiced frames
    "int_mean",  # db
    "int_max",  # db
    "int_slope",  # db/s
    "voiced_share",  # share of the phone's frames Praat calls voiced
    "duration",  # s
    "f0_mean_z",  # the phone's mean F0 against the utterance's other said phones
    "int_mean_z",
    "duration_z",  # log duration
    "has_f0",  # 1 where the phone has a voiced frame (else the f0 columns are 0)
    "is_vowel",
    "omitted",
)
WORD_COLUMNS: tuple[str, ...] = (
    "n_vowels",  # canonical syllables
    "stress_dur",  # s, the canonically stressed vowel's duration
    "stress_dur_rel",  # log(its duration / the mean of the comparison vowels')
    "stress_f0_rel",  # st, its mean F0 minus the comparison vowels'
    "stress_int_rel",  # db, its mean intensity minus the comparison vowels'
    "stress_prominence",  # the sum of the three above as within-utterance z-scores
    "stress_longest",  # 1 where the stressed vowel is the longest of the word's (1-vowel words: 0.5)
    "stress_loudest",
    "stress_highest",
    "has_compare",  # 1 where there were comparison vowels (the word's others, else neighbours')
    "word_duration",  # s
    "word_f0_range",  # st, max - min over the word's voiced frames
    "word_int_mean",  # db
    "word_voiced_share",
    "pause_before",  # s of pause before the word (0 when under PAUSE_MIN_SECONDS)
    "pause_after",
    "monosyllable",
    "omitted",
)
UTTERANCE_COLUMNS: tuple[str, ...] = (
    "speech_rate",  # syllables per second, first word's start to last word's end
    "articulation_rate",  # syllables per second of speaking time (pauses left out)
    "n_pauses",  # gaps between said words over PAUSE_MIN_SECONDS
    "pause_total",  # s
    "pause_mean",  # s (0 without pauses)
    "pause_share",  # pause_total / the span
    "speaking_time",  # s, the span less its pauses
    "f0_range",  # st, 95th - 5th percentile over the span's voiced frames
    "f0_std",  # st
    "f0_delta_std",  # st per frame: how jumpy the pitch is between adjacent voiced frames
    "int_std",  # dB over the span's frames
    "voiced_share",  # share of the span's frames that are voiced
    "vowel_npvi",  # normalised pairwise variability index of vowel durations (speech rhythm)
    "phone_dur_cv",  # coefficient of variation of phone durations
    "lead_silence",  # s before the first said word
    "trail_silence",  # s after the last
)


@dataclass
class ProsodyTrack:
    """Contours on one time grid (frame i is centred at ``times[i]``)."""

    times: np.ndarray  # (T,) seconds
    f0: np.ndarray  # (T,) semitones relative to the median voiced F0; NaN where unvoiced
    intensity: np.ndarray  # (T,) dB (Praat's, the wave read as pascals), floored at 0; never NaN
    median_hz: float  # the speaker's median F0 (0 when nothing was voiced)

    @property
    def voiced(self) -> np.ndarray:
        return np.isfinite(self.f0)

    def window(self, start: float, end: float) -> slice:
        """The frames whose centres fall in [start, end); at least the nearest one for a tiny span."""
        lo = int(np.searchsorted(self.times, start))
        hi = int(np.searchsorted(self.times, end))
        if hi <= lo and len(self.times):
            lo = min(lo, len(self.times) - 1)
            hi = lo + 1
        return slice(lo, hi)


def prosody_track(wave: np.ndarray, sr: int = 16000) -> ProsodyTrack:
    """Praat F0 (semitones re the median voiced F0) and intensity every `STEP` seconds."""
    import parselmouth

    wave = np.nan_to_num(np.asarray(wave, dtype=np.float64))
    n = max(int(len(wave) / sr / STEP), 0)
    times = (np.arange(n) + 0.5) * STEP
    f0_hz, level = np.zeros(n), np.zeros(n)
    try:
        sound = parselmouth.Sound(wave, sampling_frequency=sr)
        pitch = sound.to_pitch_ac(time_step=STEP, pitch_floor=PITCH_FLOOR, pitch_ceiling=PITCH_CEILING)
        intensity = sound.to_intensity(minimum_pitch=PITCH_FLOOR, time_step=STEP)
    except parselmouth.PraatError:  # shorter than Praat's analysis window: nothing to measure
        pass
    else:
        hz = pitch.selected_array["frequency"]
        # Praat's unvoiced frames are 0 Hz; nearest-frame lookup keeps them unvoiced (no interpolation).
        idx = np.clip(np.round((times - pitch.xs()[0]) / STEP).astype(int), 0, len(hz) - 1)
        f0_hz = hz[idx] if len(hz) else f0_hz
        db = np.nan_to_num(intensity.values[0], nan=0.0, neginf=0.0)
        level = np.interp(times, intensity.xs(), db) if len(db) else level
    voiced = f0_hz > 0
    median = float(np.median(f0_hz[voiced])) if voiced.any() else 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        st = np.where(voiced, 12.0 * np.log2(f0_hz / median), np.nan) if median else np.full(n, np.nan)
    return ProsodyTrack(times, st, np.maximum(level, 0.0), median)


# ---- phones -------------------------------------------------------------------------------------
def _slope(t: np.ndarray, y: np.ndarray) -> float:
    ok = np.isfinite(y)
    if ok.sum() < 3 or np.ptp(t[ok]) == 0:
        return 0.0
    return float(np.polyfit(t[ok], y[ok], 1)[0])


def _speech_level(track: ProsodyTrack, al: Alignment) -> float:
    """The utterance's reference loudness: the median intensity over its said words."""
    said = [w for w in al.words if not w.omitted]
    if not said or not len(track.times):
        return 0.0
    sl = track.window(min(w.start for w in said), max(w.end for w in said))
    return float(np.median(track.intensity[sl])) if sl.stop > sl.start else 0.0


def _zscore(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """z-scores of ``x`` against its ``mask``ed entries; 0 outside the mask or without spread."""
    out = np.zeros_like(x)
    if mask.sum() >= 2 and x[mask].std() > 1e-6:
        out[mask] = (x[mask] - x[mask].mean()) / x[mask].std()
    return out


def _phone_raw(track: ProsodyTrack, al: Alignment) -> np.ndarray:
    """The first eight `PHONE_COLUMNS` and the flags, before the within-utterance z-scores."""
    ref = _speech_level(track, al)
    rows = []
    for w in al.words:
        for p in w.phones:
            vowel = float(p.symbol.rstrip("012") in VOWELS)
            if w.omitted or not len(track.times):
                rows.append([0.0] * 8 + [0.0, vowel, float(w.omitted)])
                continue
            sl = track.window(p.start, p.end)
            t, f0, db = track.times[sl], track.f0[sl], track.intensity[sl] - ref
            has = bool(np.isfinite(f0).any())
            rows.append(
                [
                    float(np.nanmean(f0)) if has else 0.0,
                    float(np.nanmax(f0)) if has else 0.0,
                    _slope(t, f0),
                    float(db.mean()) if len(db) else 0.0,
                    float(db.max()) if len(db) else 0.0,
                    _slope(t, db),
                    float(np.isfinite(f0).mean()) if len(f0) else 0.0,
                    p.end - p.start,
                    float(has),
                    vowel,
                    0.0,
                ]
            )
    return np.asarray(rows, dtype=np.float64).reshape(-1, 11)


def phone_features(track: ProsodyTrack, al: Alignment) -> np.ndarray:
    """(n_phones, len(PHONE_COLUMNS)) over every phone of the reference, in order."""
    raw = _phone_raw(track, al)
    said = raw[:, 10] == 0
    z = [
        _zscore(raw[:, 0], said & (raw[:, 8] == 1)),
        _zscore(raw[:, 3], said),
        _zscore(np.log(np.maximum(raw[:, 7], 1e-3)), said),
    ]
    return np.column_stack([raw[:, :8], *z, raw[:, 8:]]).astype(np.float32)


# ---- words --------------------------------------------------------------------------------------
def _stress_rank(symbol: str) -> int:
    """Primary stress (1) over secondary (2) over none (0): the canonical stress digit's order."""
    return {"1": 2, "2": 1}.get(symbol[-1], 0)


def _vowel_index(al: Alignment) -> list[list[int]]:
    """Per word, the flat indices of its vowels (its phones in `phone_features`' rows)."""
    out, k = [], 0
    for w in al.words:
        out.append([k + j for j, p in enumerate(w.phones) if p.symbol.rstrip("012") in VOWELS])
        k += len(w.phones)
    return out


def _comparison(al: Alignment, vowels: list[list[int]], i: int, stressed: int) -> list[int]:
    """The vowels a word's stressed vowel is heard against: the word's others, or for a one-vowel
    word the vowels of the nearest said words before and after it."""
    others = [v for v in vowels[i] if v != stressed]
    if others:
        return others
    near = []
    for step in (-1, 1):
        j = i + step
        while 0 <= j < len(al.words) and (al.words[j].omitted or not vowels[j]):
            j += step
        if 0 <= j < len(al.words):
            near += vowels[j]
    return near


def _stress_cells(ph: np.ndarray, own: list[int], stressed: int, compare: list[int]) -> list[float]:
    """`WORD_COLUMNS` stress_dur .. has_compare for one said word (``ph``: `phone_features`)."""
    c = PHONE_COLUMNS.index
    s = ph[stressed]
    if not compare:
        return [s[c("duration")], 0.0, 0.0, 0.0, 0.0, 0.5, 0.5, 0.5, 0.0]
    cmp = ph[compare]
    dur_rel = float(np.log(max(s[c("duration")], 1e-3) / max(cmp[:, c("duration")].mean(), 1e-3)))
    voiced = cmp[:, c("has_f0")] == 1
    f0_rel = (
        float(s[c("f0_mean")] - cmp[voiced, c("f0_mean")].mean()) if s[c("has_f0")] and voiced.any() else 0.0
    )
    int_rel = float(s[c("int_mean")] - cmp[:, c("int_mean")].mean())
    prom = sum(float(s[c(k)] - cmp[:, c(k)].mean()) for k in ("duration_z", "int_mean_z", "f0_mean_z"))
    mine = ph[own]  # "the longest of the word's vowels": one-vowel words have no contest
    top = [
        0.5 if len(own) < 2 else float(s[c(k)] >= mine[:, c(k)].max())
        for k in ("duration", "int_mean", "f0_mean")
    ]
    return [s[c("duration")], dur_rel, f0_rel, int_rel, prom, *top, 1.0]


def _pauses(al: Alignment) -> tuple[np.ndarray, np.ndarray]:
    """Per word, the pause before and after it (0 under `PAUSE_MIN_SECONDS` or when unsaid)."""
    before, after = np.zeros(len(al.words)), np.zeros(len(al.words))
    said = [i for i, w in enumerate(al.words) if not w.omitted]
    for a, b in zip(said, said[1:], strict=False):
        gap = al.words[b].start - al.words[a].end
        if gap >= PAUSE_MIN_SECONDS:
            after[a], before[b] = gap, gap
    return before, after


def word_features(track: ProsodyTrack, al: Alignment) -> np.ndarray:
    """(n_words, len(WORD_COLUMNS)): the canonically stressed vowel against the word's other vowels
    (one-vowel words: against the neighbouring words' vowels), and the word's own pitch and timing."""
    ph = phone_features(track, al)
    vowels = _vowel_index(al)
    flat = [p for w in al.words for p in w.phones]
    before, after = _pauses(al)
    ref = _speech_level(track, al)
    rows = []
    for i, w in enumerate(al.words):
        n_v = len(vowels[i])
        if w.omitted or not n_v or not len(track.times):
            rows.append([n_v] + [0.0] * (len(WORD_COLUMNS) - 3) + [float(n_v == 1), float(w.omitted)])
            continue
        stressed = max(vowels[i], key=lambda k: _stress_rank(flat[k].symbol))
        cells = _stress_cells(ph, vowels[i], stressed, _comparison(al, vowels, i, stressed))
        sl = track.window(w.start, w.end)
        f0 = track.f0[sl]
        voiced = np.isfinite(f0)
        rng = float(np.ptp(f0[voiced])) if voiced.any() else 0.0
        level = float(track.intensity[sl].mean() - ref) if sl.stop > sl.start else 0.0
        share = float(voiced.mean()) if len(f0) else 0.0
        tail = [w.end - w.start, rng, level, share, before[i], after[i], float(n_v == 1), 0.0]
        rows.append([n_v, *cells, *tail])
    return np.asarray(rows, dtype=np.float32).reshape(-1, len(WORD_COLUMNS))


# ---- the utterance ------------------------------------------------------------------------------
def _npvi(d: np.ndarray) -> float:
    if len(d) < 2:
        return 0.0
    return float(100.0 * np.mean(np.abs(np.diff(d)) / ((d[1:] + d[:-1]) / 2)))


def _voice_stats(track: ProsodyTrack, sl: slice) -> list[float]:
    """f0_range .. voiced_share over one span of the track."""
    f0, db = track.f0[sl], track.intensity[sl]
    v = f0[np.isfinite(f0)]
    if len(v) >= 2:
        lo, hi = np.percentile(v, [5, 95])
        runs = np.diff(f0)  # adjacent voiced pairs only: NaN elsewhere
        jumps = runs[np.isfinite(runs)]
        f0_stats = [float(hi - lo), float(v.std()), float(jumps.std()) if len(jumps) >= 2 else 0.0]
    else:
        f0_stats = [0.0, 0.0, 0.0]
    db_std = float(db.std()) if len(db) >= 2 else 0.0
    share = float(np.isfinite(f0).mean()) if len(f0) else 0.0
    return [*f0_stats, db_std, share]


def utterance_features(track: ProsodyTrack, al: Alignment) -> np.ndarray:
    """(len(UTTERANCE_COLUMNS),): rate, pauses, pitch and loudness variability over the said span."""
    said = [w for w in al.words if not w.omitted]
    if not said:
        return np.zeros(len(UTTERANCE_COLUMNS), dtype=np.float32)
    start, end = min(w.start for w in said), max(w.end for w in said)
    span = max(end - start, STEP)
    gaps = np.array([b.start - a.end for a, b in zip(said, said[1:], strict=False)])
    pauses = gaps[gaps >= PAUSE_MIN_SECONDS] if len(gaps) else gaps
    speaking = max(span - float(pauses.sum()), STEP)
    phones = [p for w in said for p in w.phones]
    vowel_d = np.array([p.end - p.start for p in phones if p.symbol.rstrip("012") in VOWELS])
    all_d = np.array([p.end - p.start for p in phones])
    voice = _voice_stats(track, track.window(start, end)) if len(track.times) else [0.0] * 5
    row = [
        len(vowel_d) / span,
        len(vowel_d) / speaking,
        float(len(pauses)),
        float(pauses.sum()),
        float(pauses.mean()) if len(pauses) else 0.0,
        float(pauses.sum()) / span,
        speaking,
        *voice,
        _npvi(vowel_d),
        float(all_d.std() / all_d.mean()) if all_d.mean() > 0 else 0.0,
        start,
        max(al.duration - end, 0.0),
    ]
    return np.nan_to_num(np.asarray(row, dtype=np.float32))


@functools.lru_cache(maxsize=4096)
def _track_of(audio_path: str) -> ProsodyTrack:
    # the track depends on the recording only: computed once per recording for all five folds
    from lmm_apa.data.audio import load_audio

    return prosody_track(load_audio(audio_path))


def prosody_features(al: Alignment, utt: Utterance) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The `EvidenceScorer` / `HierScorer` ``extra_features`` hook: (phone, word, utterance)
    features of ``utt``'s recording (its ``audio_path``, the whole file the alignment was made on)."""
    if utt.audio_path is None:
        raise ValueError(f"{utt.utt_id}: prosody features need the recording (audio_path)")
    track = _track_of(str(utt.audio_path))
    return phone_features(track, al), word_features(track, al), utterance_features(track, al)
