"""The API's side of robust input: a recording's quality in the response (and in the OpenAPI schema),
m4a and webm uploads read, a corrupt m4a and a recording of noise clear errors."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf
from fastapi.testclient import TestClient

from lmm_apa.data.quality import prepare_recording
from lmm_apa.infer.scorer import ScoreResult
from tests.audio_codecs import encode
from tests.interfaces.web.scorer_double import EnergyScorer

TEXT = "WE CALL IT BEAR"


class QualityScorer(EnergyScorer):
    """The energy double's scores with the real scorer's first step: the speech found and measured
    (`prepare_recording`), "no speech found" raised as the real scorer raises it."""

    def assess_text(self, wave: np.ndarray, text: str, utt_id: str = "input") -> ScoreResult:
        recording = prepare_recording(wave)
        return ScoreResult(self.score(recording.wave, text, utt_id), quality=recording.quality.to_json())


@pytest.fixture
def client(make_app):
    with TestClient(make_app(QualityScorer())) as c:
        yield c


def _post(client, data: bytes, name: str):
    return client.post(
        "/score", files={"audio": (name, data, "application/octet-stream")}, data={"text": TEXT}
    )


def test_quality_is_in_the_response_and_the_schema(client, bear_flac):
    r = _post(client, bear_flac.read_bytes(), "bear.flac")
    assert r.status_code == 200, r.text
    q = r.json()["quality"]
    assert set(q) == {
        "snr_db",
        "clipped_share",
        "speech_seconds",
        "level_dbfs",
        "duration_seconds",
        "warnings",
    }
    assert q["warnings"] == [] and q["snr_db"] > 30
    schema = client.get("/openapi.json").json()["components"]["schemas"]
    assert "warnings" in schema["Quality"]["properties"]


def test_a_clipped_upload_is_scored_with_a_warning(client, bear_flac):
    wave, sr = sf.read(bear_flac, dtype="float32")
    buf = io.BytesIO()
    sf.write(buf, np.clip(wave * 20, -1, 1), sr, format="WAV")
    q = _post(client, buf.getvalue(), "loud.wav").json()["quality"]
    assert any("clipped" in w for w in q["warnings"])


@pytest.mark.parametrize("suffix", [".m4a", ".webm"])
def test_phone_and_browser_recordings_are_read(client, bear_flac, tmp_path, suffix):
    wave, sr = sf.read(bear_flac, dtype="float32")
    path = encode(wave, sr, tmp_path / f"bear{suffix}")
    r = _post(client, path.read_bytes(), path.name)
    assert r.status_code == 200, r.text
    assert r.json()["quality"]["speech_seconds"] > 1


def test_corrupt_m4a_and_noise_are_clear_errors(client, bear_flac, tmp_path):
    wave, sr = sf.read(bear_flac, dtype="float32")
    good = encode(wave, sr, tmp_path / "bear.m4a").read_bytes()
    r = _post(client, good[:64] + bytes(len(good) - 64), "broken.m4a")
    assert r.status_code == 422 and r.json()["error"]["code"] == "audio_error"
    assert "cannot read audio from broken.m4a" in r.json()["error"]["message"]
    buf = io.BytesIO()
    sf.write(buf, 0.2 * np.random.default_rng(0).standard_normal(3 * 16000), 16000, format="WAV")
    r = _post(client, buf.getvalue(), "noise.wav")
    assert r.status_code == 422 and "no speech found" in r.json()["error"]["message"]
