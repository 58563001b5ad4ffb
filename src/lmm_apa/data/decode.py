"""Decode what libsndfile cannot (m4a/AAC from phones, webm/opus from browsers, mp4 audio) with PyAV.

`load_audio` tries libsndfile first, so WAV, FLAC, OGG and MP3 are read exactly as before (and the
corpus' FLAC sample for sample); this is its fallback. PyAV is FFmpeg's maintained binding, already
installed with faster-whisper, and it reads every container and codec a learner's device writes.

The length limit is enforced twice, as for libsndfile: from the container's header before decoding,
and while decoding (a header may lie or be missing, as in browser webm), so a ten-minute file is
refused after at most `max_seconds` of audio has been decoded, never decoded whole.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import BinaryIO

import numpy as np

# Decode a little past the limit, so that a file just over it is reported with its (rough) length.
_OVER_LIMIT_MARGIN_S = 1.0


class DecodeError(Exception):
    """PyAV could not read the input; `load_audio` turns it into an `AudioError` naming the file."""


def decode_with_av(
    handle: str | BinaryIO, max_seconds: float | None, check_length: Callable[[float], None]
) -> tuple[np.ndarray, int]:
    """(samples (n, channels) float32, sample rate).

    Raises `DecodeError` when the input has no audio stream or FFmpeg cannot decode it.
    ``check_length(seconds)`` (the caller's, raising its own error) is called with the header's
    duration before decoding; decoding stops once the audio is clearly over ``max_seconds``.
    """
    import av

    if hasattr(handle, "seek"):
        handle.seek(0)  # libsndfile's failed attempt may have moved the file object
    try:
        container = av.open(handle, mode="r")
    except (av.FFmpegError, UnicodeDecodeError, ValueError, OSError) as e:
        raise DecodeError(_reason(e)) from None
    with container:
        if not container.streams.audio:
            raise DecodeError("no audio stream in the file")
        stream = container.streams.audio[0]
        if container.duration:
            check_length(container.duration / av.time_base)
        # Planar float keeps every channel apart (`load_audio` mixes them) at the file's own rate.
        resampler = av.AudioResampler(format="fltp")
        chunks: list[np.ndarray] = []
        decoded, rate = 0, stream.rate or 0
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    rate = out.sample_rate
                    chunks.append(out.to_ndarray())
                    decoded += out.samples
                if max_seconds is not None and rate and decoded / rate > max_seconds + _OVER_LIMIT_MARGIN_S:
                    break
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray())
        except (av.FFmpegError, ValueError) as e:
            # A recording cut off mid-upload decodes cleanly up to the cut: keep that part (the
            # scorer then finds words unsaid); with nothing decoded the file is unreadable.
            if not chunks:
                raise DecodeError(_reason(e)) from None
    if not chunks or not rate:
        raise DecodeError("the audio stream holds no decodable audio")
    data = np.concatenate(chunks, axis=1).T.astype(np.float32, copy=False)
    return np.ascontiguousarray(data), int(rate)


def _reason(e: Exception) -> str:
    return getattr(e, "strerror", None) or str(e) or type(e).__name__
