"""The training rooms: reproducible per recording, the speech kept, the codecs round-trip in time."""

import numpy as np
import pytest

from lmm_apa.data.audio import load_audio
from lmm_apa.errors import LmmApaError

pytest.importorskip("audiomentations")

from lmm_apa.data.augment import SR, RoomAugmenter, make_babble, opus_round_trip  # noqa: E402

KNOWN = "WAVE/SPEAKER0001/000010011.flac"


def _voice(seconds: float = 1.5, f0: float = 140.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    harmonics = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 8))
    return (0.1 * harmonics * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))).astype(np.float32)


def test_opus_round_trip_keeps_length_and_timing():
    x = _voice()
    y = opus_round_trip(x, 24000)
    assert y.shape == x.shape and y.dtype == np.float32
    # in time with the input (no encoder delay left): a shift of even 1 ms would decorrelate it
    assert np.corrcoef(x, y)[0, 1] > 0.9


def test_babble_is_built_once_from_enough_talkers(tmp_path):
    talkers = [_voice(1.0 + 0.1 * i, 100 + 20 * i) for i in range(6)]
    folder = make_babble(talkers, tmp_path / "b", n=3)
    files = sorted(folder.glob("babble_*.wav"))
    assert len(files) == 3
    stamp = files[0].stat().st_mtime_ns
    make_babble(talkers, folder, n=3)
    assert files[0].stat().st_mtime_ns == stamp
    assert len(list(make_babble(talkers[:2], tmp_path / "c", n=1).glob("*.wav"))) == 1  # a smoke run
    with pytest.raises(LmmApaError, match="at least 2"):
        make_babble(talkers[:1], tmp_path / "d", n=1)


def test_the_same_recording_gets_the_same_room_and_others_differ(tmp_path):
    aug = RoomAugmenter(make_babble([_voice(1.0, 90 + 15 * i) for i in range(6)], tmp_path, n=4))
    x = _voice()
    a, b, c = aug(x, "utt1"), aug(x, "utt1"), aug(x, "utt2")
    assert np.array_equal(a, b) and not (a.shape == c.shape and np.array_equal(a, c))
    assert a.dtype == np.float32 and np.isfinite(a).all()
    # silence of at most 1.5 s added at each end, none taken away
    assert len(x) <= len(a) <= len(x) + 3 * SR
    assert not np.array_equal(RoomAugmenter(seed=1)(x, "utt1"), RoomAugmenter(seed=0)(x, "utt1"))


def test_most_rooms_are_noisy_but_the_speech_stays(corpus_dir):
    """Over many draws the module's rates show: ~80% carry noise, and the speech is still there
    (the voice-activity detector finds it in nearly all)."""
    from lmm_apa.data.quality import check_recording
    from lmm_apa.errors import AudioError

    wave = load_audio(corpus_dir / KNOWN)
    aug = RoomAugmenter()
    snrs, found = [], 0
    for i in range(30):
        try:
            _, q = check_recording(aug(wave, f"k{i}"))
        except AudioError:
            continue
        found += 1
        snrs.append(q.snr_db)
    _, clean = check_recording(wave)
    assert found >= 25
    assert np.median(snrs) < clean.snr_db - 10


def test_narrowband_rooms_hold_nothing_above_4_khz():
    """``narrowband_share`` of the telephone rooms pass through 8 kHz sampling: what is left above
    4 kHz is a trace of what the recording had there."""
    wave = np.random.default_rng(0).normal(scale=0.1, size=SR * 2).astype(np.float32)

    def high_share(x: np.ndarray) -> float:
        power = np.abs(np.fft.rfft(x[: SR * 2])) ** 2
        return float(power[int(4200 * len(power) / (SR / 2)) :].sum() / power.sum())

    narrow = RoomAugmenter(None, seed=0, pad_seconds=0.0, telephone_p=1.0, narrowband_share=1.0)
    plain = RoomAugmenter(None, seed=0, pad_seconds=0.0, telephone_p=0.0)
    highs = [high_share(narrow(wave, f"k{i}")) for i in range(6)]
    assert max(highs) < 0.02 < min(high_share(plain(wave, f"k{i}")) for i in range(6))
