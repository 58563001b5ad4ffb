import json

import pytest

from lmm_apa.models.assemble import BACKBONE_JSON
from lmm_apa.models.testing import DESIGNS, tiny_qwen2_audio, tiny_text_config


def test_text_config_is_tiny_and_keeps_the_tokenizer_ids():
    cfg = tiny_text_config(vocab_size=100, pad_token_id=7)
    assert cfg["vocab_size"] == 100 and cfg["pad_token_id"] == 7
    assert cfg["num_hidden_layers"] == 2 and cfg["hidden_size"] == 32


def test_an_unknown_design_is_refused(tmp_path):
    with pytest.raises(ValueError, match="design must be one of"):
        tiny_qwen2_audio(tmp_path, design="huge")


def test_the_tiny_backbone_is_seeded_and_rewritten_in_place(tmp_path):
    from safetensors.numpy import load_file

    a = tiny_qwen2_audio(tmp_path / "a", seed=0)
    b = tiny_qwen2_audio(tmp_path / "b", seed=0)
    assert json.loads((a / BACKBONE_JSON).read_text())["design"] == "tiny-qwen2_audio"
    wa, wb = load_file(a / "model.safetensors"), load_file(b / "model.safetensors")
    assert wa.keys() == wb.keys()
    assert all((wa[k] == wb[k]).all() for k in wa)
    (a / "stale.txt").write_text("x")
    tiny_qwen2_audio(a, seed=1)
    assert not (a / "stale.txt").exists()
    assert "qwen2_audio" in DESIGNS
