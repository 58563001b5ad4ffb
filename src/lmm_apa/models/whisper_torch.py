"""Whisper-base's encoder in torch, with an optional LoRA adapter: the encoder that can learn.

`CT2WhisperEncoder` runs the frozen encoder fast, but CTranslate2 cannot train. This is the same
encoder (weights read from the same model.bin) as a transformers `Qwen2AudioEncoder`, run on the
audio's own length as CTranslate2 runs it: its frames agree with CTranslate2's to ~5e-4 (max abs)
and a 3 s recording takes ~0.07 s on 2 cores against CTranslate2's ~0.12 s (float32 both;
`tests/models/test_whisper_torch.py`). With ``adapter`` (a folder holding `ENCODER_ADAPTER`, trained
by `lmm_apa.align.robust_encoder`), the LoRA weights are merged into the encoder once at load, so
scoring costs the same as without.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from lmm_apa.errors import ModelError

ENCODER_ADAPTER = "encoder_lora.safetensors"
ENCODER_ADAPTER_JSON = "encoder_lora.json"
# Every linear layer of every encoder block: the noise a frame carries enters at every depth.
LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2")


def whisper_base_tower(model_bin: Path | None = None) -> torch.nn.Module:
    """A float32 `Qwen2AudioEncoder` holding Whisper-base's encoder weights (from the CTranslate2
    model.bin of `lmm_apa.models.parts.whisper_ct2_dir`)."""
    from transformers import Qwen2AudioEncoderConfig
    from transformers.models.qwen2_audio.modeling_qwen2_audio import Qwen2AudioEncoder

    from lmm_apa.models.assemble import load_whisper_encoder_weights, whisper_base_audio_config

    cfg = {k: v for k, v in whisper_base_audio_config().items() if k != "model_type"}
    tower = Qwen2AudioEncoder(Qwen2AudioEncoderConfig(**cfg)).float().eval()
    load_whisper_encoder_weights(tower, model_bin)
    return tower


def encoder_frames(tower: torch.nn.Module, mel: torch.Tensor) -> torch.Tensor:
    """(B, T // 2, 512) frames at 50 Hz of log-mels (B, 80, T), as CTranslate2 computes them: the
    position table cut to the input's length (Qwen2AudioEncoder.forward insists on 30 s), the final
    LayerNorm applied before any pooling. Differentiable: the training path too."""
    if mel.shape[-1] > 2 * tower.embed_positions.weight.shape[0]:
        raise ModelError(f"audio longer than 30 s ({mel.shape[-1]} mel frames): Whisper cannot encode it")
    x = torch.nn.functional.gelu(tower.conv1(mel))
    x = torch.nn.functional.gelu(tower.conv2(x)).transpose(1, 2)
    x = x + tower.embed_positions.weight[: x.shape[1]]
    for layer in tower.layers:
        x = layer(x, None)
        x = x[0] if isinstance(x, tuple) else x
    return tower.layer_norm(x)


def add_lora(
    tower: torch.nn.Module, rank: int = 16, alpha: int = 32, dropout: float = 0.0
) -> torch.nn.Module:
    """``tower`` with PEFT LoRA layers (zero-initialised: it starts as the frozen encoder) on
    `LORA_TARGETS`; only they train."""
    from peft import LoraConfig, inject_adapter_in_model

    cfg = LoraConfig(r=rank, lora_alpha=alpha, lora_dropout=dropout, target_modules=list(LORA_TARGETS))
    for p in tower.parameters():
        p.requires_grad = False
    return inject_adapter_in_model(cfg, tower)


def save_adapter(tower: torch.nn.Module, out_dir: str | Path, **info) -> Path:
    """The LoRA weights of ``tower`` (float32; 3.5 MB at rank 16) and a json of how they were made."""
    from peft import get_peft_model_state_dict
    from safetensors.torch import save_file

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous() for k, v in get_peft_model_state_dict(tower).items()}
    save_file(state, str(out_dir / ENCODER_ADAPTER))
    (out_dir / ENCODER_ADAPTER_JSON).write_text(json.dumps(info, indent=2))
    return out_dir / ENCODER_ADAPTER


def load_adapter(tower: torch.nn.Module, folder: str | Path, merge: bool = True) -> torch.nn.Module:
    """``tower`` with the adapter in ``folder`` (`save_adapter`) added and, with ``merge``, merged into
    its weights (then it runs as fast as the plain encoder)."""
    from peft import set_peft_model_state_dict
    from peft.tuners.lora import LoraLayer
    from safetensors.torch import load_file

    folder = Path(folder)
    info = json.loads((folder / ENCODER_ADAPTER_JSON).read_text())
    tower = add_lora(tower, rank=info["rank"], alpha=info["alpha"])
    result = set_peft_model_state_dict(tower, load_file(str(folder / ENCODER_ADAPTER)))
    if getattr(result, "unexpected_keys", None):
        raise ModelError(f"encoder adapter in {folder} does not fit Whisper-base: {result.unexpected_keys}")
    if merge:
        for m in tower.modules():
            if isinstance(m, LoraLayer):
                m.merge()
    return tower.eval()


def has_adapter(folder: str | Path) -> bool:
    return (Path(folder) / ENCODER_ADAPTER).is_file()


class TorchWhisperEncoder:
    """`CT2WhisperEncoder`'s interface (``mel``, ``encode_mel``, ``frames``, ``__call__``) on the torch
    encoder, with the LoRA adapter in ``adapter`` (a folder) merged when given."""

    n_mels = 80
    d_model = 512

    def __init__(self, model_dir: Path | None = None, adapter: str | Path | None = None):
        from faster_whisper.feature_extractor import FeatureExtractor

        from lmm_apa.models.parts import whisper_ct2_dir

        model_bin = Path(model_dir or whisper_ct2_dir()) / "model.bin"
        tower = whisper_base_tower(model_bin)
        self.tower = load_adapter(tower, adapter) if adapter is not None else tower
        self.adapter = None if adapter is None else Path(adapter)
        self._mel = FeatureExtractor(feature_size=self.n_mels)

    def mel(self, wave: np.ndarray) -> np.ndarray:
        """Log-mel (80, len // 160) of 16 kHz audio, Whisper's normalisation, no 30 s pad."""
        return self._mel(np.asarray(wave, dtype=np.float32), padding=0)

    @torch.no_grad()
    def encode_mel(self, mel: np.ndarray) -> np.ndarray:
        """Encoder frames (len // 2 rounded up, 512) for one log-mel (80, len)."""
        if mel.shape[-1] < 4:
            raise ModelError(f"audio too short to encode: {mel.shape[-1]} mel frames (need at least 4)")
        x = torch.from_numpy(np.ascontiguousarray(mel, dtype=np.float32))[None]
        return encoder_frames(self.tower, x)[0].numpy()

    def frames(self, wave: np.ndarray) -> np.ndarray:
        """(T, 512) encoder frames at 50 Hz: what the phone aligner reads."""
        return self.encode_mel(self.mel(wave))

    def __call__(self, wave: np.ndarray) -> np.ndarray:
        """(T, 512) frames average-pooled in pairs (25 Hz), as `CT2WhisperEncoder` gives them."""
        from lmm_apa.models.whisper_ct2 import pool_frames

        return pool_frames(self.frames(wave))
