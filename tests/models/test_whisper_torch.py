"""The torch Whisper-base encoder (`models.whisper_torch`): CTranslate2's frames, and its LoRA
adapter saved, loaded and merged without changing what it computes."""

import numpy as np
import pytest
import torch

from lmm_apa.errors import ModelError
from lmm_apa.models.parts import whisper_ct2_dir
from lmm_apa.models.whisper_ct2 import CT2WhisperEncoder
from lmm_apa.models.whisper_torch import (
    ENCODER_ADAPTER,
    TorchWhisperEncoder,
    add_lora,
    encoder_frames,
    has_adapter,
    load_adapter,
    save_adapter,
    whisper_base_tower,
)


@pytest.fixture(scope="module")
def torch_encoder() -> TorchWhisperEncoder:
    return TorchWhisperEncoder()


def test_torch_frames_are_ct2_frames_on_the_recordings_own_length(torch_encoder, speech):
    ct2 = CT2WhisperEncoder(whisper_ct2_dir())
    a, b = ct2.frames(speech), torch_encoder.frames(speech)
    assert a.shape == b.shape == ((len(speech) // 160 + 1) // 2, 512)  # 100 Hz mels, stride 2
    assert np.abs(a - b).max() < 5e-3
    np.testing.assert_allclose(torch_encoder(speech), ct2(speech), atol=5e-3)


def test_too_short_and_too_long_audio_are_model_errors(torch_encoder):
    with pytest.raises(ModelError, match="too short"):
        torch_encoder.frames(np.zeros(300, np.float32))
    with pytest.raises(ModelError, match="longer than 30 s"):
        torch_encoder.frames(np.zeros(16000 * 31, np.float32))


def _perturbed_lora(rank: int = 4):
    tower = add_lora(whisper_base_tower(), rank=rank, alpha=2 * rank)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, p in tower.named_parameters():
            if "lora_B" in name:  # zero at init: give the adapter something to say
                p.copy_(torch.randn(p.shape, generator=g) * 0.02)
    return tower


def test_a_fresh_adapter_changes_nothing_and_only_it_trains(speech, torch_encoder):
    tower = add_lora(whisper_base_tower(), rank=4, alpha=8)
    mel = torch.from_numpy(torch_encoder.mel(speech))[None]
    with torch.no_grad():
        fresh = encoder_frames(tower, mel)[0].numpy()
    np.testing.assert_allclose(fresh, torch_encoder.frames(speech), atol=1e-5)
    trainable = {n for n, p in tower.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n for n in trainable)
    assert any(".fc1." in n for n in trainable) and any(".q_proj." in n for n in trainable)


def test_saved_adapter_loads_merged_to_the_same_frames(tmp_path, speech, torch_encoder):
    tower = _perturbed_lora().eval()
    mel = torch.from_numpy(torch_encoder.mel(speech))[None]
    with torch.no_grad():
        expected = encoder_frames(tower, mel)[0].numpy()
    assert np.abs(expected - torch_encoder.frames(speech)).max() > 1e-2  # the adapter does something
    assert not has_adapter(tmp_path)
    save_adapter(tower, tmp_path, rank=4, alpha=8)
    assert has_adapter(tmp_path) and (tmp_path / ENCODER_ADAPTER).stat().st_size < 1_000_000
    merged = TorchWhisperEncoder(adapter=tmp_path)
    np.testing.assert_allclose(merged.frames(speech), expected, atol=2e-3)  # merging rounds
    unmerged = load_adapter(whisper_base_tower(), tmp_path, merge=False)
    with torch.no_grad():
        np.testing.assert_allclose(encoder_frames(unmerged, mel)[0].numpy(), expected, atol=1e-4)
