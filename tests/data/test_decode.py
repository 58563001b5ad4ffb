"""What phones and browsers record (m4a/AAC, webm/opus, mp4) is read through PyAV; bad files are
clear errors, long ones refused without decoding them whole."""

import time

import numpy as np
import pytest
import soundfile as sf

from lmm_apa.data.audio import SAMPLE_RATE, load_audio
from lmm_apa.errors import AudioError
from tests.audio_codecs import encode

KNOWN = "WAVE/SPEAKER0001/000010011.flac"


@pytest.fixture(scope="module")
def flac(corpus_dir) -> tuple[np.ndarray, int]:
    return sf.read(corpus_dir / KNOWN, dtype="float32")


def _lag(a: np.ndarray, b: np.ndarray) -> int:
    """Samples by which ``a`` lags ``b`` (an encoder's priming delay)."""
    n = min(len(a), len(b))
    corr = np.correlate(a[:n], b[: n - 4000], mode="valid")
    return int(corr.argmax())


@pytest.mark.parametrize("suffix", [".m4a", ".webm", ".mp4"])
def test_lossy_formats_decode_like_the_flac(flac, tmp_path, suffix):
    wave, sr = flac
    path = encode(wave, sr, tmp_path / f"bear{suffix}")
    got = load_audio(path)
    assert got.dtype == np.float32 and got.ndim == 1
    assert abs(len(got) - len(wave)) < 0.15 * SAMPLE_RATE  # codec padding only
    lag = _lag(got, wave)
    assert lag < 0.15 * SAMPLE_RATE
    n = len(wave) - lag
    # A lossy codec at its default bitrate keeps the waveform close (SNR well above 10 dB).
    err = got[lag : lag + n][: len(wave)] - wave[:n][: len(got) - lag]
    assert 10 * np.log10(np.mean(wave**2) / np.mean(err**2)) > 10
    # bytes and file objects read like paths
    np.testing.assert_array_equal(load_audio(path.read_bytes()), got)
    with open(path, "rb") as f:
        np.testing.assert_array_equal(load_audio(f), got)


def test_one_silent_channel_does_not_halve_the_level(flac, tmp_path):
    wave, sr = flac
    got = load_audio(encode(wave, sr, tmp_path / "stereo.webm", channels=2))
    assert np.abs(got).max() == pytest.approx(np.abs(wave).max(), rel=0.1)


def test_a_corrupt_m4a_is_a_clear_error(flac, tmp_path):
    wave, sr = flac
    good = encode(wave, sr, tmp_path / "good.m4a").read_bytes()
    bad = tmp_path / "bad.m4a"
    bad.write_bytes(good[:64] + bytes(len(good) - 64))  # header kept, everything after it zeroed
    with pytest.raises(AudioError, match="cannot read audio from .*bad.m4a.*M4A"):
        load_audio(bad)
    with pytest.raises(AudioError, match="cannot read audio"):
        load_audio(good[:40])  # cut off inside the header


def test_a_ten_minute_m4a_is_refused_quickly(tmp_path):
    rng = np.random.default_rng(0)
    long = encode((0.1 * rng.standard_normal(600 * 8000)).astype(np.float32), 8000, tmp_path / "long.m4a")
    t0 = time.perf_counter()
    with pytest.raises(AudioError, match="over the 30 s limit"):
        load_audio(long)
    assert time.perf_counter() - t0 < 5
