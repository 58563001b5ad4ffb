import numpy as np
import pytest

from lmm_apa.models.features import TorchAudioEncoder, n_audio_tokens


@pytest.mark.parametrize("mel, tokens", [(3000, 750), (100, 25), (1, 0), (4, 1), (8, 2)])
def test_audio_tokens_follow_the_conv_stride_and_the_pool(mel, tokens):
    assert n_audio_tokens(mel) == tokens


def test_audio_tokens_grow_with_the_recording():
    counts = [n_audio_tokens(m) for m in range(2, 3001)]
    assert counts == sorted(counts)
    assert abs(n_audio_tokens(3000) - 3000 / 4) <= 1


def test_the_torch_tower_gives_one_row_per_audio_token(tmp_path):
    from transformers import Qwen2AudioForConditionalGeneration, WhisperFeatureExtractor

    from lmm_apa.errors import ModelError
    from lmm_apa.models.testing import tiny_qwen2_audio

    path = tiny_qwen2_audio(tmp_path, design="qwen2_audio")
    model = Qwen2AudioForConditionalGeneration.from_pretrained(path)
    enc = TorchAudioEncoder(model.model.audio_tower, WhisperFeatureExtractor.from_pretrained(path))
    wave = np.random.default_rng(0).normal(scale=0.1, size=16000).astype(np.float32)  # 1 s: 100 mel frames
    out = enc(wave)
    assert tuple(out.shape) == (n_audio_tokens(100), enc.d_model)
    with pytest.raises(ModelError, match="longer than 30 s"):
        enc(np.zeros(31 * 16000, dtype=np.float32))
