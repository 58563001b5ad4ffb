"""Read any audio a user or the corpus gives us as 16 kHz mono float32, or say clearly why not.

Every path into the models (training, scoring, the web page) reads audio through `load_audio`, so the
checks live here once: missing, unreadable, empty, silent and too-long inputs raise `AudioError` with
a message a user can act on.

Silence is judged by the peak, not the RMS: Speechocean762 recordings are often quiet (the quietest
train files peak at -24 dBFS), and a short word in a long pause has a tiny RMS, whereas a peak
below -60 dBFS (0.1% of full scale, a few LSBs of 16-bit audio) means nothing was recorded at all.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import BinaryIO

import numpy as np
import soundfile as sf
import soxr

from lmm_apa.errors import AudioError

SAMPLE_RATE = 16000
# One sentence: the Whisper encoder hears 30 s at most. Longer recordings of a text are passages,
# scored in pieces (`lmm_apa.infer.passage`), up to PASSAGE_MAX_SECONDS: 5 minutes covers a
# teacher's passage (30 s to 3 minutes) and keeps a request's time and memory bounded.
MAX_SECONDS = 30.0
PASSAGE_MAX_SECONDS = 300.0
# Shorter than this cannot hold a word; it is almost always a failed or cancelled recording.
MIN_SECONDS = 0.1
SILENCE_DBFS = -60.0

AudioSource = str | Path | bytes | bytearray | BinaryIO


def load_audio(source: AudioSource, *, max_seconds: float | None = MAX_SECONDS) -> np.ndarray:
    """Decode `source` (a path, the file's bytes or a binary file object) to 16 kHz mono float32.

    Any format libsndfile reads (WAV, FLAC, OGG/Vorbis, MP3, ...) is read by it; anything else FFmpeg
    reads (m4a/AAC, webm/opus, mp4 audio) through PyAV (`lmm_apa.data.decode`). Channels are averaged
    (a dead channel left out) and the rate is converted with soxr's high-quality resampler.
    ``max_seconds=None`` lifts the length limit (the caller then chunks the audio itself).
    """
    name, handle = _open(source)
    try:
        with sf.SoundFile(handle) as f:
            sr, frames = f.samplerate, f.frames
            # Check the length from the header first, so a one-hour file is refused without decoding.
            _check_length(frames / sr, name, max_seconds)
            data = f.read(dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as e:
        # m4a/AAC, webm/opus, mp4: what phones and browsers record, and libsndfile cannot read.
        data, sr = _decode_other(handle, name, max_seconds, _reason(e))
    data = drop_silent_channels(data)

    # Some headers (streamed WAV, VBR MP3) carry no or a wrong frame count: check what was decoded.
    _check_length(len(data) / sr, name, max_seconds)
    if not np.isfinite(data).all():
        raise AudioError(f"audio from {name} contains NaN or infinite samples")
    wave = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    peak = float(np.abs(wave).max())
    if peak < 10 ** (SILENCE_DBFS / 20):
        level = "-inf" if peak == 0 else f"{20 * np.log10(peak):.0f}"
        raise AudioError(
            f"audio from {name} is silent (peak {level} dBFS, below {SILENCE_DBFS:.0f} dBFS): "
            "check the microphone and record again"
        )
    if sr != SAMPLE_RATE:
        wave = soxr.resample(wave, sr, SAMPLE_RATE, quality="HQ")
    return np.ascontiguousarray(wave, dtype=np.float32)


def _decode_other(
    handle: str | BinaryIO, name: str, max_seconds: float | None, why: str
) -> tuple[np.ndarray, int]:
    from lmm_apa.data.decode import DecodeError, decode_with_av

    try:
        return decode_with_av(handle, max_seconds, lambda s: _check_length(s, name, max_seconds))
    except DecodeError as e:
        raise AudioError(
            f"cannot read audio from {name}: not a supported audio file (WAV, FLAC, OGG, MP3, M4A/AAC, "
            f"WEBM/OPUS, MP4...) or the file is corrupt ({why}; {e})"
        ) from None


def drop_silent_channels(data: np.ndarray) -> np.ndarray:
    """(n, channels) without the channels 40 dB or more below the loudest: a stereo recording with
    one dead microphone channel would otherwise be mixed at half level with nothing."""
    if data.shape[1] < 2:
        return data
    rms = np.sqrt(np.mean(np.square(data, dtype=np.float64), axis=0))
    live = rms >= rms.max() * 10 ** (-40 / 20)
    return data if live.all() else data[:, live]


def _reason(e: Exception) -> str:
    """libsndfile's own reason, without the Python object repr it wraps around in-memory files."""
    return getattr(e, "error_string", None) or str(e)


def audio_seconds(source: str | Path) -> float:
    """Duration of an audio file from its header, without decoding it."""
    name, handle = _open(source)
    try:
        info = sf.info(handle)
    except (sf.LibsndfileError, RuntimeError) as e:
        raise AudioError(f"cannot read audio from {name}: {_reason(e)}") from None
    return info.frames / info.samplerate


def _open(source: AudioSource) -> tuple[str, str | BinaryIO]:
    """A name for messages and something soundfile can open."""
    if isinstance(source, str | Path):
        path = Path(source).expanduser()
        if not path.is_file():
            what = "is a folder, not an audio file" if path.is_dir() else "not found"
            raise AudioError(f"audio file {what}: {path}")
        return str(path), str(path)
    if isinstance(source, bytes | bytearray):
        if not source:
            raise AudioError("audio is empty (0 bytes)")
        return "the uploaded bytes", io.BytesIO(source)
    if hasattr(source, "read"):
        return str(getattr(source, "name", "the given file object")), source
    raise AudioError(f"cannot read audio from a {type(source).__name__}; give a path, bytes or a file")


def _check_length(seconds: float, name: str, max_seconds: float | None) -> None:
    if seconds < MIN_SECONDS:
        raise AudioError(
            f"audio from {name} is empty or too short ({seconds:.2f} s; at least {MIN_SECONDS:g} s needed)"
        )
    if max_seconds is not None and seconds > max_seconds:
        raise AudioError(
            f"audio from {name} is {seconds:.1f} s long, over the {max_seconds:g} s limit: "
            "cut it into shorter pieces and score them one by one"
        )
