"""Test models: tiny randomly initialised Qwen2-Audio backbones (same transformers classes as the real ones).

Nothing in the library imports this module; tests and benches do.

Two designs, so tests cover both code paths of `AudioLMM.encode_audio`:
- `qwen2_audio`: the Qwen2-Audio-7B path in miniature: a tiny torch Whisper-style audio tower fed by
  `WhisperFeatureExtractor` (30 s pad), hidden 32, 2 layers.
- `default`: the default backbone in miniature: the real Whisper-base encoder weights (fast
  CTranslate2 encoder, d_audio 512), a seeded projector and a 2-layer hidden-32 Qwen2 language model.
Both use the real SmolLM2 tokenizer with `<|AUDIO|>` (cached by `parts.smollm2_tokenizer_dir`).
"""

import json
import shutil
from pathlib import Path

from lmm_apa.models.assemble import (
    BACKBONE_JSON,
    CT2_ENCODER,
    load_whisper_encoder_weights,
    whisper_base_audio_config,
)
from lmm_apa.models.parts import AUDIO_TOKEN, smollm2_tokenizer_dir

DESIGNS = ("qwen2_audio", "default")


def tiny_text_config(vocab_size: int, pad_token_id: int) -> dict:
    """A 2-layer, hidden-32 Qwen2 language model config."""
    return {
        "model_type": "qwen2",
        "vocab_size": vocab_size,
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": 2048,
        "pad_token_id": pad_token_id,
        "tie_word_embeddings": False,
    }


def tiny_qwen2_audio(path: Path, seed: int = 0, design: str = "qwen2_audio") -> Path:
    """Write a tiny random Qwen2AudioForConditionalGeneration (+ tokenizer, feature extractor) to `path`.

    `load_backbone(path)` loads it. Takes about a second; re-running overwrites.
    """
    import torch
    from transformers import (
        AutoTokenizer,
        Qwen2AudioConfig,
        Qwen2AudioForConditionalGeneration,
        WhisperFeatureExtractor,
    )

    if design not in DESIGNS:
        raise ValueError(f"design must be one of {DESIGNS}, got {design!r}")
    path = Path(path)
    tokenizer = AutoTokenizer.from_pretrained(smollm2_tokenizer_dir())
    if design == "default":
        audio_config = whisper_base_audio_config()
    else:
        # max_source_positions must stay 1500: Qwen2AudioEncoder insists on 3000 mel frames (30 s).
        audio_config = {
            "model_type": "qwen2_audio_encoder",
            "num_mel_bins": 128,
            "d_model": 32,
            "encoder_layers": 2,
            "encoder_attention_heads": 4,
            "encoder_ffn_dim": 64,
            "max_source_positions": 1500,
        }
    config = Qwen2AudioConfig(
        audio_config=audio_config,
        text_config=tiny_text_config(len(tokenizer), tokenizer.pad_token_id),
        audio_token_index=tokenizer.convert_tokens_to_ids(AUDIO_TOKEN),
    )
    torch.manual_seed(seed)
    model = Qwen2AudioForConditionalGeneration(config)
    if design == "default":
        load_whisper_encoder_weights(model.model.audio_tower)
    if path.exists():
        shutil.rmtree(path)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    WhisperFeatureExtractor(feature_size=config.audio_config.num_mel_bins).save_pretrained(path)
    info = {"design": f"tiny-{design}", "audio_encoder": CT2_ENCODER if design == "default" else None}
    (path / BACKBONE_JSON).write_text(json.dumps(info, indent=2))
    return path
