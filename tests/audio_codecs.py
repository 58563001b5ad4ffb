"""Audio files made in a test: a corpus FLAC re-encoded with PyAV as a phone (m4a/AAC) or a browser
(webm/opus) would have written it."""

from __future__ import annotations

from pathlib import Path

import numpy as np

# (container format, codec, codec sample rate) per file suffix
CODECS = {".m4a": ("mp4", "aac", 16000), ".webm": ("webm", "libopus", 48000), ".mp4": ("mp4", "aac", 44100)}


def encode(wave: np.ndarray, sr: int, path: Path, channels: int = 1) -> Path:
    """Write mono float ``wave`` (or ``channels`` copies of it, the rest silent) to ``path``."""
    import av

    fmt, codec, rate = CODECS[path.suffix]
    layout = "mono" if channels == 1 else "stereo"
    planes = np.zeros((channels, len(wave)), np.int16)
    planes[0] = np.clip(wave * 32767, -32768, 32767).astype(np.int16)
    with av.open(str(path), "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=rate)
        stream.layout = layout
        frame = av.AudioFrame.from_ndarray(planes, format="s16p", layout=layout)
        frame.sample_rate = sr
        resampler = av.AudioResampler(format=stream.codec_context.format.name, layout=layout, rate=rate)
        for f in [*resampler.resample(frame), *resampler.resample(None)]:
            out.mux(stream.encode(f))
        out.mux(stream.encode(None))
    return path
