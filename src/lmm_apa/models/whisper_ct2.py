"""Whisper-base in CTranslate2 format, run fast on CPU.

`CT2WhisperEncoder` runs the CTranslate2 encoder on the audio's own length (no 30 s pad), which is
what makes feature extraction cheap on a 2-core CPU. (The same model.bin's weights are read for the
torch audio tower by `ct2_file.read_ct2_variables`.)
"""

from pathlib import Path

import numpy as np

from lmm_apa.errors import ModelError


class CT2WhisperEncoder:
    """Frozen Whisper encoder run by CTranslate2 on the audio's own length, pooled as Qwen2-Audio pools.

    Whisper pads every input to 30 s; its encoder still gives useful frames on shorter input (the
    position table is simply cut), and skipping the pad makes a 4 s utterance ~10x cheaper (see the
    report in tests/models). Output: (T_mel // 4, 512) at 25 Hz, the rate of Qwen2-Audio's audio tokens.

    Difference from the torch `audio_tower` path, stated honestly: Qwen2AudioEncoder applies its final
    LayerNorm AFTER the 2x average pool, CTranslate2 applies it inside the encoder, so we pool
    LayerNorm-ed frames. The two agree closely (tests/models/test_whisper_ct2.py) but not exactly; the
    projector is trained on these features, so the model is consistent with itself.
    """

    n_mels = 80
    d_model = 512

    def __init__(self, model_dir: Path, threads: int = 0):
        """threads: CPU threads for the encoder; 0 = torch's current setting (torch.get_num_threads())."""
        import ctranslate2
        import torch
        from faster_whisper.feature_extractor import FeatureExtractor

        torch_threads = torch.get_num_threads()
        # float32 compute: on CPU it is as fast as int8 for this small encoder and keeps the features exact.
        self._model = ctranslate2.models.Whisper(
            str(model_dir), device="cpu", compute_type="float32", intra_threads=threads or torch_threads
        )
        # CTranslate2 sets the OpenMP thread count, which torch shares: give torch its setting back.
        torch.set_num_threads(torch_threads)
        self._mel = FeatureExtractor(feature_size=self.n_mels)

    def mel(self, wave: np.ndarray) -> np.ndarray:
        """Log-mel (80, len // 160) of 16 kHz audio, Whisper's normalisation, no 30 s pad."""
        return self._mel(np.asarray(wave, dtype=np.float32), padding=0)

    def encode_mel(self, mel: np.ndarray) -> np.ndarray:
        """Encoder frames (len // 2 rounded up, 512) before pooling, for one log-mel (80, len)."""
        import ctranslate2

        if mel.shape[-1] < 4:
            raise ModelError(f"audio too short to encode: {mel.shape[-1]} mel frames (need at least 4)")
        if mel.shape[-1] > 3000:
            raise ModelError(f"audio longer than 30 s ({mel.shape[-1]} mel frames): Whisper cannot encode it")
        features = ctranslate2.StorageView.from_array(np.ascontiguousarray(mel[None], dtype=np.float32))
        return np.array(self._model.encode(features, to_cpu=True))[0]

    def frames(self, wave: np.ndarray) -> np.ndarray:
        """(T, 512) encoder frames at 50 Hz, before pooling: what the phone aligner reads."""
        return self.encode_mel(self.mel(wave))

    def __call__(self, wave: np.ndarray) -> np.ndarray:
        """(T, 512) audio features: encoder frames, average-pooled in pairs as Qwen2-Audio pools."""
        return pool_frames(self.frames(wave))


def pool_frames(frames: np.ndarray) -> np.ndarray:
    """50 Hz encoder frames -> 25 Hz audio features (pairs averaged, an odd last frame dropped)."""
    n = frames.shape[0] // 2
    return frames[: 2 * n].reshape(n, 2, -1).mean(axis=1)
