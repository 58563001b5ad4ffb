from pathlib import Path

import numpy as np
import pytest

from lmm_apa.models.testing import tiny_qwen2_audio


@pytest.fixture(scope="session", params=["qwen2_audio", "default"])
def tiny_backbone(request, tmp_path_factory) -> Path:
    """A tiny random backbone of each design, built once per test session."""
    return tiny_qwen2_audio(tmp_path_factory.mktemp(f"tiny-{request.param}"), design=request.param)


@pytest.fixture(scope="session")
def speech(corpus_dir) -> np.ndarray:
    """One real Speechocean762 utterance (2.58 s), 16 kHz float32."""
    import soundfile as sf

    wave, sr = sf.read(corpus_dir / "WAVE" / "SPEAKER0001" / "000010011.flac", dtype="float32")
    assert sr == 16000
    return wave
