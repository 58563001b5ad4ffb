"""Signal quality with every result: SNR, clipping, speech duration and level, plain warnings; and
"no speech found" instead of scores for a recording without speech."""

import numpy as np
import pytest

from lmm_apa.data.audio import SAMPLE_RATE, load_audio
from lmm_apa.data.quality import check_recording, prepare_recording, summary
from lmm_apa.errors import AudioError

KNOWN = "WAVE/SPEAKER0001/000010011.flac"


@pytest.fixture(scope="module")
def bear(corpus_dir) -> np.ndarray:
    return load_audio(corpus_dir / KNOWN)


def test_a_clean_corpus_recording_has_no_warnings(bear):
    _, q = check_recording(bear)
    assert q.warnings == []
    assert q.snr_db > 30 and q.clipped_share == 0
    assert 1.2 < q.speech_seconds < 1.8 and q.duration_seconds == pytest.approx(2.58, abs=0.01)
    assert -25 < q.level_dbfs < -10
    assert "of speech in" in summary(q.to_json())


def test_added_noise_lowers_the_estimated_snr_and_warns(bear):
    rng = np.random.default_rng(0)
    _, clean = check_recording(bear)
    rms = 10 ** ((clean.level_dbfs - 10) / 20)  # white noise 10 dB below the speech
    _, q = check_recording((bear + rms * rng.standard_normal(len(bear))).astype(np.float32))
    assert 5 < q.snr_db < 15
    assert any("noisy" in w and "less reliable" in w for w in q.warnings)


def test_clipped_and_quiet_recordings_warn(bear):
    _, clipped = check_recording(np.clip(bear * 20, -1, 1))
    assert clipped.clipped_share > 0.01 and any("clipped" in w for w in clipped.warnings)
    _, quiet = check_recording(bear * 0.003)  # speech at about -67 dBFS
    assert any("quiet" in w for w in quiet.warnings)


def test_one_second_of_speech_in_25_s_of_silence_is_found_and_cut(bear):
    speech = bear[int(0.5 * SAMPLE_RATE) : int(2.1 * SAMPLE_RATE)]
    wave = np.concatenate([np.zeros(12 * SAMPLE_RATE), speech, np.zeros(12 * SAMPLE_RATE)]).astype(np.float32)
    rec = prepare_recording(wave)
    assert any("mostly silence" in w for w in rec.quality.warnings)
    assert len(rec.wave) / SAMPLE_RATE < 3 and rec.offset_s == pytest.approx(11.6, abs=0.2)
    assert len(prepare_recording(wave, trim=False).wave) == len(wave)


@pytest.mark.parametrize("seconds", [1.0, 10.0])
def test_noise_only_is_no_speech_found(seconds):
    rng = np.random.default_rng(1)
    noise = (0.2 * rng.standard_normal(int(seconds * SAMPLE_RATE))).astype(np.float32)
    with pytest.raises(AudioError, match="no speech found"):
        check_recording(noise)
