"""Audio features through a Qwen2-Audio `audio_tower` in torch (the Qwen2-Audio-7B path).

This is exactly what Qwen2AudioModel does inside its forward: WhisperFeatureExtractor pads to 30 s,
the tower sees all 3000 mel frames with the padding masked out of attention, and we keep the frames
that cover real audio (the processor's formula for the number of `<|AUDIO|>` tokens).
"""

import numpy as np


def n_audio_tokens(n_mel_frames: int) -> int:
    """Audio tokens for a mel length: stride-2 conv, then the 2x pool (Qwen2AudioProcessor's formula)."""
    return (((n_mel_frames - 1) // 2 + 1) - 2) // 2 + 1


class TorchAudioEncoder:
    """(T, d_model) pooled, layer-normed audio features from a Qwen2AudioEncoder, no gradient."""

    def __init__(self, audio_tower, feature_extractor):
        self.tower = audio_tower
        self.feature_extractor = feature_extractor
        self.d_model = audio_tower.config.d_model

    def __call__(self, wave: np.ndarray):
        import torch
        from transformers.masking_utils import create_bidirectional_mask

        if len(wave) > self.feature_extractor.n_samples:  # the extractor would silently cut it
            from lmm_apa.errors import ModelError

            raise ModelError(f"audio longer than 30 s ({len(wave) / 16000:.1f} s): Whisper cannot encode it")
        inputs = self.feature_extractor(
            np.asarray(wave, dtype=np.float32),
            sampling_rate=self.feature_extractor.sampling_rate,
            padding="max_length",
            return_attention_mask=True,
            return_tensors="pt",
        )
        n_frames = int(inputs["attention_mask"].sum())
        n_conv = (n_frames - 1) // 2 + 1  # frames after the stride-2 conv, as Qwen2AudioModel masks them
        max_conv = self.tower.config.max_source_positions
        keep = (torch.arange(max_conv) < n_conv).long()[None]
        param = next(self.tower.parameters())
        with torch.no_grad():
            mask = create_bidirectional_mask(
                config=self.tower.config,
                inputs_embeds=torch.zeros(1, max_conv, 1, dtype=param.dtype, device=param.device),
                attention_mask=keep.to(param.device),
            )
            out = self.tower(inputs["input_features"].to(param.device, param.dtype), attention_mask=mask)
        return out.last_hidden_state[0, : n_audio_tokens(n_frames)]
