"""The Python API's arguments checked at the door: audio of any accepted kind to a 16 kHz wave, and the text.

Every problem is a project error naming the argument (`AudioError` for ``audio``, `InputError` for
the rest), raised before any model runs, so that a caller never sees a traceback from deep in numpy,
soundfile or torch.

An array goes through the same decoder as a file (`lmm_apa.data.audio.load_audio`, via an in-memory
WAV): the same length, silence and resampling rules, so an array and the file it was read from score
alike.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import numpy as np

from lmm_apa.errors import AudioError, InputError

# A 2-D array is (frames, channels) or (channels, frames); more channels than this is not audio.
MAX_CHANNELS = 8


def read_audio(audio: Any, sample_rate: int | None = None) -> tuple[np.ndarray, str | None]:
    """(16 kHz mono float32 wave, the file's stem or None) of a path, bytes, a binary file object, or
    a numpy array with its ``sample_rate``."""
    from lmm_apa.data.audio import PASSAGE_MAX_SECONDS, load_audio

    if isinstance(audio, np.ndarray):
        return _read_array(audio, sample_rate), None
    if sample_rate is not None:
        raise InputError(
            f"sample_rate={sample_rate!r} is only for a numpy array; a file, its bytes or a file object "
            "says its own rate"
        )
    if isinstance(audio, str | os.PathLike):
        path = Path(os.fspath(audio)).expanduser()
        if not path.is_file():
            what = "is a folder, not an audio file" if path.is_dir() else "does not exist"
            raise AudioError(f"audio: {path} {what}")
        return load_audio(path, max_seconds=PASSAGE_MAX_SECONDS), path.stem
    if isinstance(audio, bytes | bytearray | memoryview):
        return load_audio(bytes(audio), max_seconds=PASSAGE_MAX_SECONDS), None
    if hasattr(audio, "read"):
        return load_audio(audio, max_seconds=PASSAGE_MAX_SECONDS), None
    hint = " (tensor.numpy())" if type(audio).__module__.startswith("torch") else ""
    raise AudioError(
        f"audio: cannot read a {type(audio).__name__}{hint}; give a path, the file's bytes, a binary "
        "file object, or a numpy array with sample_rate="
    )


def _read_array(wave: np.ndarray, sample_rate: int | None) -> np.ndarray:
    if sample_rate is None:
        raise AudioError(
            "audio is a numpy array but sample_rate is missing: pass its rate (sample_rate=16000)"
        )
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int | np.integer) or sample_rate <= 0:
        raise InputError(f"sample_rate={sample_rate!r}: give the array's rate in Hz, a positive integer")
    if wave.ndim == 2:
        channels_axis = int(np.argmin(wave.shape))
        if wave.shape[channels_axis] > MAX_CHANNELS:
            raise AudioError(
                f"audio: a 2-D array of shape {wave.shape} is not (frames, channels) with at most "
                f"{MAX_CHANNELS} channels"
            )
        wave = wave.mean(axis=channels_axis) if wave.size else wave.reshape(-1)
    elif wave.ndim != 1:
        raise AudioError(f"audio: a {wave.ndim}-D array of shape {wave.shape}; give a 1-D (mono) wave")
    if np.issubdtype(wave.dtype, np.integer):
        # PCM integers: full scale is the type's range (int16's 32768), as soundfile reads them.
        wave = wave.astype(np.float64) / float(-np.iinfo(wave.dtype).min)
    elif not np.issubdtype(wave.dtype, np.floating):
        raise AudioError(f"audio: an array of {wave.dtype}; give float samples in [-1, 1] or PCM integers")
    if not np.isfinite(wave).all():
        raise AudioError("audio: the array contains NaN or infinite samples")
    if wave.size == 0:
        raise AudioError("audio: the array is empty (0 samples)")
    import soundfile as sf

    from lmm_apa.data.audio import PASSAGE_MAX_SECONDS, load_audio

    # Through an in-memory float WAV, so that the file rules apply (length, silence, resampling).

    buffer = io.BytesIO()
    sf.write(buffer, np.asarray(wave, dtype=np.float32), int(sample_rate), format="WAV", subtype="FLOAT")
    buffer.seek(0)
    buffer.name = "the array"  # load_audio's messages name it
    return load_audio(buffer, max_seconds=PASSAGE_MAX_SECONDS)


def check_text(text: Any) -> str | None:
    """``text`` stripped, or None (unscripted: transcribe); an `InputError` when it cannot be scored."""
    if text is None:
        return None
    if not isinstance(text, str):
        raise InputError(
            f"text: expected the sentence as a str (or None to transcribe), not a {type(text).__name__}"
        )
    if not text.strip():
        raise InputError("text is empty: give the sentence the speaker read, or text=None to transcribe")
    from lmm_apa.data.lexicon import normalize_words

    if not normalize_words(text):
        raise InputError(f"text {text!r} has no words to score (only punctuation or symbols)")
    return text.strip()
