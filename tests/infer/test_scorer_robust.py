"""Scores that hold on real recordings (the shipped default on train-split recordings): silence
around the speech does not count, a phone's m4a and a browser's webm score like the WAV, and a
recording of noise gets "no speech found", not scores."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from lmm_apa.data.audio import SAMPLE_RATE, load_audio
from lmm_apa.errors import AudioError
from lmm_apa.infer.scorer import DEFAULT_ADAPTER, load_scorer
from tests.audio_codecs import encode

pytestmark = pytest.mark.skipif(
    not (DEFAULT_ADAPTER / "lmm_apa_adapter.json").is_file(), reason="no shipped default model"
)

# (recording, its text): short and long, loud and the quietest of the train split (-24 dBFS peak)
RECORDINGS = [
    ("WAVE/SPEAKER0001/000010011.flac", "WE CALL IT BEAR"),
    ("WAVE/SPEAKER0001/000010035.flac", "ZERO THREE FIVE ONE"),
    ("WAVE/SPEAKER9646/096460007.flac", "BEING WITHOUT YOU MAKES ME VERY UNHAPPY"),
]


@pytest.fixture(scope="module")
def scorer():
    return load_scorer("default")


@pytest.fixture(scope="module")
def recordings(corpus_dir) -> list[tuple[Path, str]]:
    return [(corpus_dir / path, text) for path, text in RECORDINGS]


def _room_tone(seconds: float, rms: float, rng: np.random.Generator) -> np.ndarray:
    return (rms * rng.standard_normal(int(seconds * SAMPLE_RATE))).astype(np.float32)


def test_silence_around_the_speech_does_not_count(scorer, recordings):
    rng = np.random.default_rng(0)
    for path, text in recordings:
        wave = load_audio(path)
        clean = scorer.assess_text(wave, text)
        floor = float(np.sqrt(np.mean(wave[: int(0.2 * SAMPLE_RATE)] ** 2)))
        for before, after in ((2.0, 2.0), (0.5, 3.0)):
            padded = np.concatenate([_room_tone(before, floor, rng), wave, _room_tone(after, floor, rng)])
            got = scorer.assess_text(padded, text)
            assert abs(got.utterance.total - clean.utterance.total) <= 0.15, (path.name, before, after)
            # times are on the padded recording: the words moved by the padding
            first = next(w for w in got.utterance.words if w.start is not None)
            was = next(w for w in clean.utterance.words if w.start is not None)
            assert first.start == pytest.approx(was.start + before, abs=0.1)
            assert got.quality["speech_seconds"] == pytest.approx(clean.quality["speech_seconds"], abs=0.15)


@pytest.mark.parametrize("suffix", [".m4a", ".webm"])
def test_m4a_and_webm_score_like_the_wav(scorer, recordings, tmp_path, suffix):
    path, text = recordings[0]
    wave, sr = sf.read(path, dtype="float32")
    wav = tmp_path / "bear.wav"
    sf.write(wav, wave, sr)
    lossy = encode(wave, sr, tmp_path / f"bear{suffix}")
    a, b = scorer.assess_text(wav, text).utterance, scorer.assess_text(lossy, text).utterance
    assert abs(a.total - b.total) <= 0.3
    assert np.mean([abs(x.accuracy - y.accuracy) for x, y in zip(a.words, b.words, strict=True)]) <= 0.5


def test_noise_only_gets_no_speech_found(scorer, recordings, tmp_path):
    rng = np.random.default_rng(0)
    noise = tmp_path / "noise.wav"
    sf.write(noise, (0.1 * rng.standard_normal(3 * SAMPLE_RATE)).astype(np.float32), SAMPLE_RATE)
    with pytest.raises(AudioError, match="no speech found"):
        scorer.assess_text(noise, "WE CALL IT BEAR")
    # in a batch, the noise gets its error in its place and the speech its scores
    bear, text = recordings[0]
    done = scorer.assess_texts([(noise, text, "n"), (bear, text, "b")])
    assert isinstance(done[0], AudioError) and done[1].quality["warnings"] == []
