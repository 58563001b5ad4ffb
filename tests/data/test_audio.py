import io

import numpy as np
import pytest
import soundfile as sf

from lmm_apa.data.audio import MAX_SECONDS, SAMPLE_RATE, audio_seconds, load_audio
from lmm_apa.errors import AudioError

KNOWN = "WAVE/SPEAKER0001/000010011.flac"
# The quietest recording of the train split (peak -24 dBFS): must not be taken for silence.
QUIETEST = "WAVE/SPEAKER9646/096460007.flac"


def _tone(seconds: float, sr: int, amp: float = 0.5, hz: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def test_constants():
    assert SAMPLE_RATE == 16000
    assert MAX_SECONDS == 30.0


def test_stereo_44k_is_mixed_to_mono_and_resampled(tmp_path):
    left = _tone(0.5, 44100)
    path = tmp_path / "stereo.wav"
    sf.write(path, np.stack([left, 0.5 * left], axis=1), 44100, subtype="PCM_16")

    wave = load_audio(path)

    assert wave.dtype == np.float32 and wave.ndim == 1
    assert len(wave) == 8000  # 0.5 s at 16 kHz
    # The channel mean of a 0.5 and a 0.25 amplitude tone is a 0.375 amplitude tone, still at 440 Hz.
    assert np.abs(wave[1000:-1000]).max() == pytest.approx(0.375, abs=0.01)
    spectrum = np.abs(np.fft.rfft(wave))
    assert np.fft.rfftfreq(len(wave), 1 / SAMPLE_RATE)[spectrum.argmax()] == pytest.approx(440, abs=2)


def test_corpus_file_is_read_unchanged(corpus_dir):
    expected, sr = sf.read(corpus_dir / KNOWN, dtype="float32")
    assert sr == SAMPLE_RATE
    np.testing.assert_array_equal(load_audio(corpus_dir / KNOWN), expected)


def test_bytes_and_file_objects_read_like_paths(corpus_dir):
    path = corpus_dir / KNOWN
    from_path = load_audio(str(path))
    np.testing.assert_array_equal(load_audio(path.read_bytes()), from_path)
    with open(path, "rb") as f:
        np.testing.assert_array_equal(load_audio(f), from_path)


def test_quietest_corpus_file_is_not_silent(corpus_dir):
    wave = load_audio(corpus_dir / QUIETEST)
    assert 20 * np.log10(np.abs(wave).max()) == pytest.approx(-24.0, abs=0.5)


def test_ogg_is_accepted(tmp_path):
    path = tmp_path / "tone.ogg"
    sf.write(path, _tone(0.5, 22050), 22050, format="OGG", subtype="VORBIS")
    assert len(load_audio(path)) == pytest.approx(8000, abs=10)


def test_missing_file_names_the_path(tmp_path):
    missing = tmp_path / "nope.wav"
    with pytest.raises(AudioError, match="not found.*nope.wav"):
        load_audio(missing)
    with pytest.raises(AudioError, match="folder"):
        load_audio(tmp_path)


def test_corrupt_and_non_audio_files_are_refused(fixtures_dir, tmp_path):
    with pytest.raises(AudioError, match="cannot read audio from .*audio_corrupt.wav"):
        load_audio(fixtures_dir / "audio_corrupt.wav")
    text = tmp_path / "notes.wav"
    text.write_text("this is not audio\n" * 20)
    with pytest.raises(AudioError, match="not a supported audio file"):
        load_audio(text)
    with pytest.raises(AudioError, match="cannot read audio"):
        load_audio(b"\x00\x01garbage" * 50)


@pytest.mark.parametrize("frames", [0, 800])  # no samples; 0.05 s
def test_empty_or_too_short_is_refused(tmp_path, frames):
    path = tmp_path / "short.wav"
    sf.write(path, _tone(frames / 16000, 16000), 16000)
    with pytest.raises(AudioError, match="empty or too short"):
        load_audio(path)
    with pytest.raises(AudioError, match="empty"):
        load_audio(b"")


def test_silence_is_refused(fixtures_dir, tmp_path):
    with pytest.raises(AudioError, match="silent"):
        load_audio(fixtures_dir / "audio_silent.wav")
    # Faint noise just under the -60 dBFS threshold is silence; a tone just above it is not.
    path = tmp_path / "faint.wav"
    sf.write(path, _tone(0.5, 16000, amp=10 ** (-62 / 20)), 16000, subtype="FLOAT")
    with pytest.raises(AudioError, match=r"silent \(peak -62 dBFS"):
        load_audio(path)
    sf.write(path, _tone(0.5, 16000, amp=10 ** (-55 / 20)), 16000, subtype="FLOAT")
    assert len(load_audio(path)) == 8000


def test_too_long_says_how_long_and_how_to_fix(tmp_path):
    path = tmp_path / "long.flac"
    sf.write(path, _tone(31.0, 8000), 8000)
    with pytest.raises(AudioError, match=r"31\.0 s long, over the 30 s limit: cut it into shorter"):
        load_audio(path)
    assert len(load_audio(path, max_seconds=None)) == 31 * SAMPLE_RATE
    assert audio_seconds(path) == pytest.approx(31.0)


def test_nan_samples_are_refused():
    buf = io.BytesIO()
    wave = _tone(0.5, 16000)
    wave[100] = np.nan
    sf.write(buf, wave, 16000, format="WAV", subtype="FLOAT")
    with pytest.raises(AudioError, match="NaN"):
        load_audio(buf.getvalue())
