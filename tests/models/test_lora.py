import re

import pytest

from lmm_apa.models.lora import LoraSettings, add_lora, target_regex


def test_settings_are_checked():
    with pytest.raises(ValueError, match="rank"):
        LoraSettings(rank=0)
    with pytest.raises(ValueError, match="targets"):
        LoraSettings(targets="mlp")


def test_the_regex_picks_the_language_models_linear_layers_only():
    every = re.compile(target_regex("all"))
    attention = re.compile(target_regex("attention"))
    lm = "model.language_model.layers.3.self_attn.q_proj"
    mlp = "model.language_model.layers.0.mlp.down_proj"
    tower = "model.audio_tower.layers.0.self_attn.q_proj"
    assert every.fullmatch(lm) and every.fullmatch(mlp) and not every.fullmatch(tower)
    assert attention.fullmatch(lm) and not attention.fullmatch(mlp)


def test_add_lora_freezes_the_base_and_trains_adapters_on_the_targets(tmp_path):
    from transformers import Qwen2AudioForConditionalGeneration

    from lmm_apa.models.testing import tiny_qwen2_audio

    model = Qwen2AudioForConditionalGeneration.from_pretrained(tiny_qwen2_audio(tmp_path))
    peft_model = add_lora(model, LoraSettings(rank=2, targets="attention"))
    trainable = [n for n, p in peft_model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    assert all("language_model" in n and "self_attn" in n for n in trainable)
    assert not any("mlp" in n or "audio_tower" in n for n in trainable)
    a = next(p for n, p in peft_model.named_parameters() if "lora_A" in n)
    assert a.shape[0] == 2
