"""Whisper-base in CTranslate2 format: its encoder weights for torch, and fast encoding on CPU.

Two jobs, both on the same `model.bin`:
- `read_ct2_variables` parses CTranslate2's binary model format (the layout written by
  `ctranslate2/specs/model_spec.py::_serialize`) with numpy, so the encoder weights can be copied into
  the torch `Qwen2AudioEncoder` of the default backbone.
- `CT2WhisperEncoder` runs the CTranslate2 encoder on the audio's own length (no 30 s pad), which is
  what makes feature extraction cheap on a 2-core CPU.
"""

import struct
from pathlib import Path

import numpy as np

from lmm_apa.errors import ModelError

# Order of CTranslate2's DataType enum (include/ctranslate2/types.h).
_CT2_DTYPES = (np.float32, np.int8, np.int16, np.int32, np.float16, None)  # None: bfloat16
_SUPPORTED_VERSIONS = (5, 6)


def read_ct2_variables(model_bin: Path) -> dict[str, np.ndarray]:
    """All named tensors of a CTranslate2 model.bin (aliases resolved), as numpy arrays."""
    data = Path(model_bin).read_bytes()
    pos = 0

    def take(fmt: str):
        nonlocal pos
        values = struct.unpack_from(fmt, data, pos)
        pos += struct.calcsize(fmt)
        return values[0] if len(values) == 1 else values

    def string() -> str:
        nonlocal pos
        n = take("<H")
        s = data[pos : pos + n - 1].decode("utf-8")  # n counts the trailing NUL
        pos += n
        return s

    version = take("<I")
    if version not in _SUPPORTED_VERSIONS:
        raise ModelError(f"{model_bin}: CTranslate2 binary version {version} is not supported")
    string()  # spec name
    take("<I")  # spec revision
    variables: dict[str, np.ndarray] = {}
    for _ in range(take("<I")):
        name = string()
        ndim = take("<B")
        shape = tuple(take("<I") for _ in range(ndim))
        dtype = _CT2_DTYPES[take("<B")]
        nbytes = take("<I")
        if dtype is None:
            raise ModelError(f"{model_bin}: bfloat16 variables are not supported ({name})")
        variables[name] = np.frombuffer(
            data, dtype=dtype, count=nbytes // np.dtype(dtype).itemsize, offset=pos
        )
        variables[name] = variables[name].reshape(shape)
        pos += nbytes
    for _ in range(take("<I")):
        alias, target = string(), string()
        variables[alias] = variables[target]
    return variables


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
