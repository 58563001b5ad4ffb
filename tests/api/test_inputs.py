"""The API's arguments checked before any model runs: each bad one a project error that names it."""

import io

import numpy as np
import pytest
import soundfile as sf

from lmm_apa import AudioError, InputError, LmmApaError
from lmm_apa.api.inputs import check_text, read_audio
from lmm_apa.data.audio import load_audio


@pytest.mark.parametrize(
    ("audio", "kwargs", "error", "message"),
    [
        (["a.wav"], {}, AudioError, "audio: cannot read a list"),
        (42, {}, AudioError, "audio: cannot read a int"),
        (np.zeros(16000, dtype=np.float32), {}, AudioError, "sample_rate is missing"),
        (np.zeros((2, 3, 16000)), {"sample_rate": 16000}, AudioError, "audio: a 3-D array"),
        (np.zeros((100, 16000)), {"sample_rate": 16000}, AudioError, "at most 8 channels"),
        (np.array([], dtype=np.float32), {"sample_rate": 16000}, AudioError, "empty"),
        (np.array(["a", "b"]), {"sample_rate": 16000}, AudioError, "an array of <U1"),
        (np.full(16000, np.nan), {"sample_rate": 16000}, AudioError, "NaN"),
        (np.ones(16000), {"sample_rate": 0}, InputError, "sample_rate=0"),
        (np.ones(16000), {"sample_rate": "16k"}, InputError, "sample_rate='16k'"),
        ("/no/such/recording.wav", {}, AudioError, "audio: /no/such/recording.wav does not exist"),
        ("/tmp", {}, AudioError, "is a folder"),
        (b"", {}, AudioError, "0 bytes"),
        (b"not audio at all", {}, AudioError, "not a supported audio file"),
        (b"RIFF", {"sample_rate": 16000}, InputError, "sample_rate=16000 is only for a numpy array"),
        (np.zeros(16000, dtype=np.float32), {"sample_rate": 16000}, AudioError, "silent"),
    ],
)
def test_bad_audio_is_a_clear_project_error(audio, kwargs, error, message):
    with pytest.raises(error, match=message) as caught:
        read_audio(audio, **kwargs)
    assert isinstance(caught.value, LmmApaError)
    assert caught.value.__cause__ is None  # no chained traceback from numpy or soundfile


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "text is empty"),
        ("   ", "text is empty"),
        ("?!...", "has no words to score"),
        (["WE", "CALL"], "text: expected the sentence as a str"),
        (b"WE", "not a bytes"),
    ],
)
def test_bad_text_is_an_input_error(text, message):
    with pytest.raises(InputError, match=message):
        check_text(text)


def test_text_kept_and_none_means_transcribe():
    assert check_text("  We call it bear. ") == "We call it bear."
    assert check_text(None) is None


def test_every_audio_form_decodes_to_the_same_wave(bear_flac):
    expected = load_audio(bear_flac)
    data = bear_flac.read_bytes()
    floats, sr = sf.read(bear_flac, dtype="float32")
    ints, _ = sf.read(bear_flac, dtype="int16")
    forms = [
        (str(bear_flac), {}),
        (bear_flac, {}),
        (data, {}),
        (io.BytesIO(data), {}),
        (floats, {"sample_rate": sr}),
        (ints, {"sample_rate": sr}),
        (np.stack([floats, floats], axis=1), {"sample_rate": sr}),  # (frames, channels)
        (np.stack([floats, floats]), {"sample_rate": sr}),  # (channels, frames)
    ]
    for audio, kwargs in forms:
        wave, stem = read_audio(audio, **kwargs)
        np.testing.assert_allclose(wave, expected, atol=1e-6, err_msg=type(audio).__name__)
        assert stem == ("000010011" if isinstance(audio, str | type(bear_flac)) else None)


def test_an_array_at_another_rate_is_resampled(bear_flac):
    floats, sr = sf.read(bear_flac, dtype="float32")
    up = np.repeat(floats, 3)  # 48 kHz, crudely
    wave, _ = read_audio(up, sample_rate=3 * sr)
    assert abs(len(wave) - len(floats)) <= 2
