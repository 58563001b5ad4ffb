"""Prosody evidence: known tones, silence, a stressed vowel made prominent, a real recording."""

import numpy as np
import pytest

from lmm_apa.align.aligner import Alignment, PhoneAlignment, WordAlignment
from lmm_apa.align.prosody import (
    PHONE_COLUMNS,
    UTTERANCE_COLUMNS,
    WORD_COLUMNS,
    phone_features,
    prosody_track,
    utterance_features,
    word_features,
)

SR = 16000


def tone(hz: float, seconds: float, amp: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return amp * np.sin(2 * np.pi * hz * t)


def phone(symbol: str, start: float | None, end: float | None) -> PhoneAlignment:
    return PhoneAlignment(symbol, start, end, None, {}, np.zeros(39), np.zeros(4), np.zeros(4))


def word(text: str, phones: list[tuple[str, float, float]], omitted: bool = False) -> WordAlignment:
    ps = [phone(s, None if omitted else a, None if omitted else b) for s, a, b in phones]
    start, end = (None, None) if omitted else (phones[0][1], phones[-1][2])
    return WordAlignment(text, start, end, omitted, ps, {})


def col(row: np.ndarray, name: str, columns=WORD_COLUMNS) -> float:
    return float(row[columns.index(name)])


def test_tones_give_semitones_relative_to_the_median():
    """200 Hz for 1 s then 400 Hz for 0.5 s: the median is 200 Hz, so the first part sits at 0 st and
    the second an octave up, 12 * log2(400 / 200) = 12 st."""
    track = prosody_track(np.concatenate([tone(200, 1.0), tone(400, 0.5)]))
    assert track.median_hz == pytest.approx(200, rel=0.01)
    low = track.f0[(track.times > 0.2) & (track.times < 0.8)]
    high = track.f0[(track.times > 1.1) & (track.times < 1.4)]
    np.testing.assert_allclose(low, 0.0, atol=0.1)
    np.testing.assert_allclose(high, 12.0, atol=0.1)
    assert track.intensity.min() >= 0 and np.isfinite(track.intensity).all()


TABLE = [("T", 0.4, 0.5), ("EY1", 0.5, 0.8), ("B", 0.8, 0.9), ("AH0", 0.9, 1.0), ("L", 1.0, 1.1)]


def sentence_alignment(duration: float) -> Alignment:
    """WE (monosyllable) TABLE (T EY1 B AH0 L), an omitted word, then SEE, with a 0.3 s pause."""
    words = [
        word("WE", [("W", 0.1, 0.2), ("IY0", 0.2, 0.4)]),
        word("TABLE", TABLE),
        word("IT", [("IH0", 0, 0), ("T", 0, 0)], omitted=True),
        word("SEE", [("S", 1.4, 1.5), ("IY1", 1.5, 1.7)]),
    ]
    return Alignment(words, [], duration)


def check_shapes(track, al: Alignment) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ph, wd, ut = phone_features(track, al), word_features(track, al), utterance_features(track, al)
    assert ph.shape == (sum(len(w.phones) for w in al.words), len(PHONE_COLUMNS))
    assert wd.shape == (len(al.words), len(WORD_COLUMNS))
    assert ut.shape == (len(UTTERANCE_COLUMNS),)
    for a in (ph, wd, ut):
        assert a.dtype == np.float32 and np.isfinite(a).all()
    return ph, wd, ut


@pytest.mark.parametrize("seconds", [2.0, 0.03])  # 0.03 s: shorter than Praat's analysis window
def test_silence_gives_finite_zeros_and_flags(seconds):
    track = prosody_track(np.zeros(int(seconds * SR)))
    assert track.median_hz == 0 and not track.voiced.any()
    ph, wd, ut = check_shapes(track, sentence_alignment(seconds))
    assert (ph[:, PHONE_COLUMNS.index("has_f0")] == 0).all()
    assert (ph[:, PHONE_COLUMNS.index("voiced_share")] == 0).all()
    assert (ph[:, PHONE_COLUMNS.index("f0_mean")] == 0).all()
    assert col(ut, "voiced_share", UTTERANCE_COLUMNS) == 0 and col(ut, "f0_range", UTTERANCE_COLUMNS) == 0
    # the omitted word: zeros and its flag
    assert col(wd[2], "omitted") == 1 and not wd[2][1:-2].any()


def test_pauses_and_omitted_words_on_a_voiced_recording():
    al = sentence_alignment(2.0)
    ph, wd, ut = check_shapes(prosody_track(tone(180, 2.0)), al)
    assert col(ut, "n_pauses", UTTERANCE_COLUMNS) == 1  # TABLE ends 1.1, SEE starts 1.4
    assert col(ut, "pause_total", UTTERANCE_COLUMNS) == pytest.approx(0.3)
    assert col(wd[1], "pause_after") == pytest.approx(0.3)
    assert col(wd[3], "pause_before") == pytest.approx(0.3)
    assert col(ut, "speech_rate", UTTERANCE_COLUMNS) == pytest.approx(4 / 1.6)  # 4 vowels, 0.1-1.7 s
    assert col(ut, "articulation_rate", UTTERANCE_COLUMNS) == pytest.approx(4 / 1.3)
    assert col(wd[1], "n_vowels") == 2 and col(wd[0], "monosyllable") == 1
    assert (ph[:, PHONE_COLUMNS.index("has_f0")][[0, 1, 2]] == 1).all()


def two_vowel_wave(stressed_loud: bool) -> np.ndarray:
    """TABLE's EY1 (0.5-0.8 s) and AH0 (0.9-1.0 s); the prominent one is louder and higher."""
    wave = tone(180, 1.2, amp=0.1)
    hot = (0.5, 0.8) if stressed_loud else (0.9, 1.0)
    a, b = int(hot[0] * SR), int(hot[1] * SR)
    wave[a:b] = tone(240, (b - a) / SR, amp=0.5)
    return wave


def test_a_longer_louder_higher_stressed_vowel_scores_more_prominent():
    """The same word twice: EY1 long, loud and high (stress as written), then the same EY1 long but
    quiet and low while AH0 is loud and high. Every relative-stress feature is higher the first time."""
    al = Alignment([word("TABLE", TABLE)], [], 1.2)
    right = word_features(prosody_track(two_vowel_wave(True)), al)[0]
    wrong = word_features(prosody_track(two_vowel_wave(False)), al)[0]
    for name in ("stress_f0_rel", "stress_int_rel", "stress_prominence"):
        assert col(right, name) > col(wrong, name) + 0.5, name
    assert col(right, "stress_dur_rel") == pytest.approx(np.log(0.3 / 0.1), abs=0.01)
    assert col(right, "stress_f0_rel") == pytest.approx(12 * np.log2(240 / 180), abs=0.5)
    assert col(right, "stress_loudest") == 1 and col(wrong, "stress_loudest") == 0
    assert col(right, "has_compare") == 1


def test_a_monosyllable_is_heard_against_its_neighbours():
    """WE's only vowel against TABLE's: louder and higher than them gives positive relative stress."""
    wave = tone(180, 1.2, amp=0.1)
    wave[int(0.2 * SR) : int(0.4 * SR)] = tone(240, 0.2, amp=0.5)
    al = Alignment(sentence_alignment(1.2).words[:2], [], 1.2)
    we = word_features(prosody_track(wave), al)[0]
    assert col(we, "has_compare") == 1 and col(we, "stress_longest") == 0.5
    assert col(we, "stress_int_rel") > 5 and col(we, "stress_f0_rel") > 3


@pytest.mark.skipif(
    not __import__("lmm_apa.align.head", fromlist=["x"]).DEFAULT_HEAD.is_dir(), reason="no shipped aligner"
)
def test_a_real_recording_gives_finite_features_of_the_documented_widths(corpus_dir):
    from lmm_apa.align.frontend import Listener
    from lmm_apa.data.audio import load_audio
    from lmm_apa.data.splits import load_split

    u = next(u for u in load_split(corpus_dir, "dev25") if len(u.words) >= 5)
    wave = load_audio(u.audio_path)
    al = Listener().hear(wave, u.unlabelled()).alignment
    track = prosody_track(wave)
    assert 60 < track.median_hz < 500 and track.voiced.mean() > 0.1
    ph, wd, ut = check_shapes(track, al)
    said = [i for i, w in enumerate(al.words) if not w.omitted]
    assert said and (wd[said, WORD_COLUMNS.index("word_duration")] > 0).all()
    assert col(ut, "speech_rate", UTTERANCE_COLUMNS) > 0.5
