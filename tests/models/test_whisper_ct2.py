"""The Whisper-base encoder: weights copied from CTranslate2 into torch, and the fast unpadded CT2 path."""

import numpy as np
import pytest
import torch

from lmm_apa.models.assemble import load_whisper_encoder_weights, whisper_base_audio_config
from lmm_apa.models.ct2_file import read_ct2_variables
from lmm_apa.models.features import n_audio_tokens
from lmm_apa.models.parts import whisper_ct2_dir
from lmm_apa.models.whisper_ct2 import CT2WhisperEncoder


@pytest.fixture(scope="module")
def ct2() -> CT2WhisperEncoder:
    return CT2WhisperEncoder(whisper_ct2_dir())


@pytest.fixture(scope="module")
def tower():
    from transformers import Qwen2AudioEncoder, Qwen2AudioEncoderConfig

    tower = Qwen2AudioEncoder(Qwen2AudioEncoderConfig(**whisper_base_audio_config())).eval()
    load_whisper_encoder_weights(tower)
    return tower


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))


def _frames_before_pool(tower, mel: np.ndarray, n_real: int | None = None) -> np.ndarray:
    """Torch tower frames after the last layer and the final LayerNorm, before the pool (CT2's output)."""
    from transformers.masking_utils import create_bidirectional_mask

    captured = {}
    hook = tower.layers[-1].register_forward_hook(lambda m, i, o: captured.setdefault("x", o))
    mask = None
    if n_real is not None:  # mask padding out of attention, as Qwen2AudioModel does
        keep = (torch.arange(1500) < n_real).long()[None]
        mask = create_bidirectional_mask(
            config=tower.config, inputs_embeds=torch.zeros(1, 1500, 1), attention_mask=keep
        )
    with torch.no_grad():
        tower(torch.from_numpy(mel[None]), attention_mask=mask)
        hook.remove()
        x = captured["x"][0] if isinstance(captured["x"], tuple) else captured["x"]
        return tower.layer_norm(x)[0].numpy()


def test_model_bin_parses_to_whisper_base_shapes():
    v = read_ct2_variables(whisper_ct2_dir() / "model.bin")
    assert v["encoder/conv1/weight"].shape == (512, 80, 3)
    assert v["encoder/position_encodings/encodings"].shape == (1500, 512)
    assert v["encoder/layer_5/self_attention/linear_0/weight"].shape == (1536, 512)  # fused q, k, v
    assert "encoder/layer_6/ffn/linear_0/weight" not in v  # base has 6 layers
    assert v["decoder/embeddings/weight"].shape == (51865, 512)


def test_torch_tower_matches_ct2_on_the_same_30s_mel(ct2, tower, speech):
    """Same input, two runtimes: the copied weights reproduce CTranslate2's encoder frame by frame."""
    mel = ct2.mel(np.pad(speech, (0, 480_000 - len(speech))))  # Whisper's 30 s pad: 3000 frames
    torch_frames = _frames_before_pool(tower, mel)
    ct2_frames = ct2.encode_mel(mel)
    assert torch_frames.shape == ct2_frames.shape == (1500, 512)
    assert _cos(torch_frames, ct2_frames).min() > 0.9999


def test_unpadded_ct2_agrees_with_qwen2_audio_masked_path(ct2, tower, speech):
    """Our fast path (no pad) vs Qwen2-Audio's (30 s pad, padding masked): same frames but the last.

    The last frame differs because its conv window sees zeros instead of the log-mel of silence.
    After pooling, the LayerNorm order differs (see CT2WhisperEncoder): a few pooled frames whose two
    halves have very different norms disagree, the mean agreement stays high.
    """
    from transformers import WhisperFeatureExtractor

    hf_mel = WhisperFeatureExtractor(feature_size=80)(speech, sampling_rate=16000, return_tensors="np")
    n_mel = len(speech) // 160
    fast = ct2.encode_mel(ct2.mel(speech))
    n_conv = fast.shape[0]
    assert n_conv == (n_mel - 1) // 2 + 1
    reference = _frames_before_pool(tower, hf_mel["input_features"][0], n_real=n_conv)[:n_conv]
    cos = _cos(reference, fast)
    assert cos[:-1].min() > 0.9 and cos.mean() > 0.98

    pooled = ct2(speech)
    assert pooled.shape == (n_audio_tokens(n_mel), 512)
    np.testing.assert_allclose(pooled[3], fast[6:8].mean(0), rtol=1e-6)


def test_encoder_refuses_audio_over_30s(ct2):
    from lmm_apa.errors import ModelError

    with pytest.raises(ModelError, match="30 s"):
        ct2(np.zeros(16_000 * 31, dtype=np.float32))
