"""Assemble the default backbone: Whisper-base encoder + new projector + SmolLM2-135M-Instruct.

The result is a plain `Qwen2AudioForConditionalGeneration` (the class of Qwen2-Audio-7B), so the
trainer and the scorer have one code path for both backbones:
- audio tower: Whisper-base's encoder, weights copied from the CTranslate2 model.bin;
- projector: new, random (seeded), 512 -> 576;
- language model: SmolLM2-135M-Instruct, dequantized from its GGUF, held as a Qwen2 model whose
  q/k/v biases are zero. A Qwen2 decoder layer is a Llama layer plus q/k/v biases, so with zero biases
  it computes the same function (tests/models/test_assemble.py checks the logits); using Qwen2 keeps
  the module names and the LoRA targets identical to Qwen2-Audio-7B's.
"""

import json
import shutil
import time
from pathlib import Path

import numpy as np

from lmm_apa.errors import ModelError
from lmm_apa.models.parts import (
    AUDIO_TOKEN,
    SMOLLM2,
    SMOLLM2_GGUF,
    WHISPER_PART1,
    WHISPER_PART2,
    smollm2_gguf,
    smollm2_tokenizer_dir,
    whisper_ct2_dir,
)
from lmm_apa.paths import cache_dir

# What a backbone folder built here says about itself; `load_backbone` reads it.
BACKBONE_JSON = "lmm_apa_backbone.json"
CT2_ENCODER = "whisper-base-ct2"  # value of "audio_encoder" in BACKBONE_JSON for the fast CPU path
PROJECTOR_SEED = 0
_LLAMA_TO_QWEN2 = (
    "vocab_size",
    "hidden_size",
    "intermediate_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_key_value_heads",
    "hidden_act",
    "max_position_embeddings",
    "rms_norm_eps",
    "rope_parameters",
    "bos_token_id",
    "eos_token_id",
    "pad_token_id",
)


def whisper_base_audio_config() -> dict:
    """Qwen2AudioEncoder config with Whisper-base's shape (80 mels, 6 layers, d_model 512)."""
    return {
        "model_type": "qwen2_audio_encoder",
        "num_mel_bins": 80,
        "d_model": 512,
        "encoder_layers": 6,
        "encoder_attention_heads": 8,
        "encoder_ffn_dim": 2048,
        "max_source_positions": 1500,
        "activation_function": "gelu",
    }


def load_whisper_encoder_weights(audio_tower, model_bin: Path | None = None) -> None:
    """Copy Whisper-base's encoder weights from the CTranslate2 model.bin into a Qwen2AudioEncoder."""
    import torch

    from lmm_apa.models.ct2_file import read_ct2_variables

    ct2 = read_ct2_variables(model_bin or whisper_ct2_dir() / "model.bin")
    d = audio_tower.config.d_model
    state: dict[str, np.ndarray] = {
        "conv1.weight": ct2["encoder/conv1/weight"],
        "conv1.bias": ct2["encoder/conv1/bias"],
        "conv2.weight": ct2["encoder/conv2/weight"],
        "conv2.bias": ct2["encoder/conv2/bias"],
        "embed_positions.weight": ct2["encoder/position_encodings/encodings"],
        "layer_norm.weight": ct2["encoder/layer_norm/gamma"],
        "layer_norm.bias": ct2["encoder/layer_norm/beta"],
    }
    for i in range(audio_tower.config.encoder_layers):
        src, dst = f"encoder/layer_{i}", f"layers.{i}"
        # CTranslate2 fuses q, k, v into one matrix (k has no bias in Whisper: its fused slot is zero).
        qkv_w, qkv_b = (
            ct2[f"{src}/self_attention/linear_0/weight"],
            ct2[f"{src}/self_attention/linear_0/bias"],
        )
        state |= {
            f"{dst}.self_attn.q_proj.weight": qkv_w[:d],
            f"{dst}.self_attn.q_proj.bias": qkv_b[:d],
            f"{dst}.self_attn.k_proj.weight": qkv_w[d : 2 * d],
            f"{dst}.self_attn.v_proj.weight": qkv_w[2 * d :],
            f"{dst}.self_attn.v_proj.bias": qkv_b[2 * d :],
            f"{dst}.self_attn.out_proj.weight": ct2[f"{src}/self_attention/linear_1/weight"],
            f"{dst}.self_attn.out_proj.bias": ct2[f"{src}/self_attention/linear_1/bias"],
            f"{dst}.self_attn_layer_norm.weight": ct2[f"{src}/self_attention/layer_norm/gamma"],
            f"{dst}.self_attn_layer_norm.bias": ct2[f"{src}/self_attention/layer_norm/beta"],
            f"{dst}.fc1.weight": ct2[f"{src}/ffn/linear_0/weight"],
            f"{dst}.fc1.bias": ct2[f"{src}/ffn/linear_0/bias"],
            f"{dst}.fc2.weight": ct2[f"{src}/ffn/linear_1/weight"],
            f"{dst}.fc2.bias": ct2[f"{src}/ffn/linear_1/bias"],
            f"{dst}.final_layer_norm.weight": ct2[f"{src}/ffn/layer_norm/gamma"],
            f"{dst}.final_layer_norm.bias": ct2[f"{src}/ffn/layer_norm/beta"],
        }
    dtype = audio_tower.conv1.weight.dtype
    tensors = {k: torch.from_numpy(np.array(v, dtype=np.float32)).to(dtype) for k, v in state.items()}
    missing, unexpected = audio_tower.load_state_dict(tensors, strict=False)
    if unexpected or missing:
        raise ModelError(
            f"Whisper-base weights do not fit the audio tower: missing {missing}, extra {unexpected}"
        )


def parameter_counts(model) -> dict[str, int]:
    """Parameters of a Qwen2AudioForConditionalGeneration by part (the LM counts its output head)."""
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    inner = model.model
    counts = {
        "audio_encoder": count(inner.audio_tower),
        "projector": count(inner.multi_modal_projector),
        "language_model": count(inner.language_model) + count(model.lm_head),
    }
    counts["total"] = sum(counts.values())
    return counts


def _qwen2_text_config(llama_config, vocab_size: int) -> dict:
    """A Qwen2 config computing the same function as SmolLM2's Llama config (biases are set to zero)."""
    text = {key: getattr(llama_config, key) for key in _LLAMA_TO_QWEN2}
    text |= {"model_type": "qwen2", "vocab_size": vocab_size, "tie_word_embeddings": False}
    text |= {"use_sliding_window": False, "attention_dropout": 0.0}
    return text


def _provenance() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    def pkg(part: tuple[str, str]) -> dict:
        name = part[1].split("==")[0]
        try:
            return {"package": name, "version": version(name)}
        except PackageNotFoundError:
            return {"package": name, "version": None}

    return {
        "audio_encoder": {
            "model": "openai/whisper-base encoder (CTranslate2 float16)",
            "from": [pkg(WHISPER_PART1), pkg(WHISPER_PART2)],
        },
        "language_model": {
            "model": "HuggingFaceTB/SmolLM2-135M-Instruct",
            "file": SMOLLM2_GGUF,
            "from": [pkg(SMOLLM2)],
        },
        "projector": {"init": "torch.nn.Linear default init", "seed": PROJECTOR_SEED},
    }


def assemble_default_model(seed: int = PROJECTOR_SEED):
    """(model, tokenizer) of the default backbone in memory; fp32."""
    import torch
    from transformers import (
        AutoModelForCausalLM,
        AutoTokenizer,
        Qwen2AudioConfig,
        Qwen2AudioForConditionalGeneration,
    )

    whisper_dir = whisper_ct2_dir()  # checks both Whisper parts first: the cheap failure comes first
    folder, gguf = smollm2_gguf()
    tokenizer = AutoTokenizer.from_pretrained(smollm2_tokenizer_dir())
    smol = AutoModelForCausalLM.from_pretrained(folder, gguf_file=gguf, dtype=torch.float32)
    config = Qwen2AudioConfig(
        audio_config=whisper_base_audio_config(),
        text_config=_qwen2_text_config(smol.config, len(tokenizer)),
        audio_token_index=tokenizer.convert_tokens_to_ids(AUDIO_TOKEN),
    )
    model = Qwen2AudioForConditionalGeneration(config)
    state = smol.model.state_dict()
    embed = state["embed_tokens.weight"]
    # One new row for <|AUDIO|>: its embedding is always replaced by audio features, so any value does;
    # the mean row keeps it harmless if it were ever read.
    state["embed_tokens.weight"] = torch.cat([embed, embed.mean(0, keepdim=True)])
    for name, module in model.model.language_model.named_modules():
        if name.endswith(("q_proj", "k_proj", "v_proj")):
            state[f"{name}.bias"] = torch.zeros_like(module.bias)  # zero biases: Qwen2 == Llama
    model.model.language_model.load_state_dict(state, strict=True)
    lm_head = smol.lm_head.weight  # tied to the embeddings in SmolLM2; Qwen2-Audio keeps a separate head
    model.lm_head.weight.data.copy_(torch.cat([lm_head, lm_head.mean(0, keepdim=True)]))
    load_whisper_encoder_weights(model.model.audio_tower, whisper_dir / "model.bin")
    torch.manual_seed(seed)
    model.model.multi_modal_projector.linear.reset_parameters()
    model.generation_config.eos_token_id = tokenizer.convert_tokens_to_ids("<|im_end|>")
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


def build_default_backbone(out_dir: Path | None = None) -> Path:
    """Assemble the default backbone into `cache_dir()/backbones/default` (or out_dir), once; its folder."""
    from transformers import WhisperFeatureExtractor

    out = Path(out_dir) if out_dir is not None else cache_dir() / "backbones" / "default"
    if (out / BACKBONE_JSON).is_file() and (out / "config.json").is_file():
        return out  # built on an earlier run (the JSON is written last)
    start = time.perf_counter()
    model, tokenizer = assemble_default_model()
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    WhisperFeatureExtractor(feature_size=80).save_pretrained(tmp)  # for the torch audio_tower path
    info = {
        "design": "default",
        "audio_encoder": CT2_ENCODER,
        "parts": _provenance(),
        "parameters": parameter_counts(model),
        "build_seconds": round(time.perf_counter() - start, 1),
    }
    (tmp / BACKBONE_JSON).write_text(json.dumps(info, indent=2))
    shutil.rmtree(out, ignore_errors=True)
    tmp.replace(out)
    return out
