"""What learners' rooms do to a recording, for training the parts that read audio (issue "Scores that
hold on real recordings", item 2).

The corpus is clean, quiet and close-miked; learners record on laptops and phones. `RoomAugmenter`
turns a clean training recording into one such recording, drawn at random per recording:

- silence of 0-1.5 s at each end (pressing record and stop), under the noise below;
- mild reverberation (a simulated room, RT60 0.15-0.5 s), p 0.25;
- additive noise at 5-30 dB SNR, p 0.8: white, coloured (fans, hum: pink to brown), or babble (3-6
  other training recordings summed: a classroom), one of the three;
- telephone band (high-pass 200-400 Hz, low-pass 3.0-3.6 kHz), p 0.2 (``telephone_p``); with
  ``narrowband_share`` of those instead a round trip through 8 kHz sampling (a phone call, or a
  recorder set to 8 kHz: nothing above 4 kHz and no high-pass);
- a codec round trip at a low bit rate, p 0.25: MP3 16-64 kb/s or Opus 12-32 kb/s (phones and
  browsers);
- gain of -18 to +6 dB, p 0.5.

The labels stay those of the clean recording: the raters judged the speaker, not the room. The DSP
is audiomentations' (and pyroomacoustics' room simulation under it); only the Opus round trip is
PyAV's encoder and decoder, which audiomentations does not wrap.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from lmm_apa.errors import LmmApaError

SR = 16000
NOISE_SNR_DB = (5.0, 30.0)
BABBLE_TALKERS = (3, 6)
BABBLE_SECONDS = 12.0


def _audiomentations():
    try:
        import audiomentations
    except ImportError as e:  # an optional extra: only training with augmentation needs it
        raise LmmApaError(
            "training with augmentation needs the `augment` extra: pip install 'lmm-apa[augment]'"
        ) from e
    return audiomentations


def opus_round_trip(wave: np.ndarray, bitrate: int) -> np.ndarray:
    """``wave`` (16 kHz mono float32) encoded as Ogg/Opus at ``bitrate`` b/s and decoded back, the
    same length (the encoder's look-ahead trimmed, its tail padded)."""
    import av

    buf = io.BytesIO()
    with av.open(buf, "w", format="ogg") as out:
        stream = out.add_stream("libopus", rate=SR)
        stream.bit_rate = bitrate
        frame = av.AudioFrame.from_ndarray(wave.astype(np.float32)[None], format="flt", layout="mono")
        frame.sample_rate = SR
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    buf.seek(0)
    with av.open(buf) as inp:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SR)
        chunks = [r.to_ndarray().reshape(-1) for f in inp.decode(audio=0) for r in resampler.resample(f)]
    got = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
    got = np.pad(got, (0, max(0, len(wave) - len(got))))
    return got[: len(wave)].astype(np.float32)


def as_scored(wave: np.ndarray) -> np.ndarray:
    """``wave`` cut to its speech as the scorer cuts it (`quality.prepare_recording`), so that
    augmented training inputs look like what is scored; a recording the voice-activity detector
    finds no speech in (babble at 5 dB) is kept whole: its speech is there."""
    from lmm_apa.data.quality import prepare_recording
    from lmm_apa.errors import AudioError

    try:
        return prepare_recording(wave).wave
    except AudioError:
        return wave


def make_babble(waves: Sequence[np.ndarray], folder: str | Path, n: int = 40, seed: int = 0) -> Path:
    """``n`` babble recordings in ``folder`` (16 kHz WAV), each 3-6 of ``waves`` (as many as there
    are, for a smoke run on fewer) summed at equal level and looped to `BABBLE_SECONDS`; reuses what
    is there. -> ``folder``."""
    import soundfile as sf

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if len(list(folder.glob("babble_*.wav"))) >= n:
        return folder
    if len(waves) < 2:
        raise LmmApaError(f"babble needs at least 2 recordings, got {len(waves)}")
    lo, hi = (min(k, len(waves)) for k in BABBLE_TALKERS)
    rng = np.random.default_rng(seed)
    length = int(BABBLE_SECONDS * SR)
    for i in range(n):
        mix = np.zeros(length, np.float64)
        for j in rng.choice(len(waves), size=rng.integers(lo, hi, endpoint=True), replace=False):
            w = np.asarray(waves[j], np.float64)
            w = np.tile(w, length // max(len(w), 1) + 1)[:length]
            mix += np.roll(w, rng.integers(length)) / (np.sqrt(np.mean(w**2)) + 1e-9)
        sf.write(
            folder / f"babble_{i:03d}.wav", (0.1 * mix / np.sqrt(np.mean(mix**2))).astype(np.float32), SR
        )
    return folder


class RoomAugmenter:
    """Callable: a clean 16 kHz recording -> the same speech as recorded somewhere real (the module
    docstring lists what and how often). Deterministic per (``seed``, key): the same training
    recording gets the same room every time its frames are rebuilt."""

    def __init__(
        self,
        babble_dir: str | Path | None = None,
        seed: int = 0,
        pad_seconds: float = 1.5,
        telephone_p: float = 0.2,
        narrowband_share: float = 0.0,
    ) -> None:
        """``pad_seconds``: the most silence added at each end; 0 keeps the recording's length and
        timing (the robust encoder's training pairs each frame with the clean recording's).
        ``telephone_p``: share of recordings band-limited; ``narrowband_share`` of those through 8 kHz
        sampling instead of the band-pass filters. The defaults are the recipe the shipped phone
        head and readout were trained with."""
        A = _audiomentations()
        self.pad_seconds = pad_seconds
        lo, hi = NOISE_SNR_DB
        noises = [
            A.AddGaussianSNR(lo, hi, p=1.0),
            A.AddColorNoise(lo, hi, min_f_decay=-6, max_f_decay=-3, p=1.0),
        ]
        if babble_dir is not None:
            noises.append(A.AddBackgroundNoise(str(babble_dir), min_snr_db=lo, max_snr_db=hi, p=1.0))
        self.seed = seed
        self.reverb = A.RoomSimulator(
            min_target_rt60=0.15, max_target_rt60=0.5, calculation_mode="rt60", use_ray_tracing=False,
            max_order=3, leave_length_unchanged=True, p=0.25,
        )  # fmt: skip
        self.noise = A.OneOf(noises, p=0.8)
        self.band = [A.HighPassFilter(200, 400, p=1.0), A.LowPassFilter(3000, 3600, p=1.0)]
        self.telephone_p, self.narrowband_share = telephone_p, narrowband_share
        self.mp3 = A.Mp3Compression(16, 64, p=1.0)
        self.gain = A.Gain(-18, 6, p=0.5)

    def __call__(self, wave: np.ndarray, key: str = "") -> np.ndarray:
        import random

        # audiomentations draws from numpy's and random's global generators: seed both per recording
        s = (self.seed * 1_000_003 + zlib.crc32(key.encode())) % 2**32
        np.random.seed(s)
        random.seed(s)
        rng = np.random.default_rng(s)
        pads = [np.zeros(int(rng.uniform(0, self.pad_seconds) * SR), np.float32) for _ in range(2)]
        x = np.concatenate([pads[0], wave.astype(np.float32), pads[1]])
        x = self.reverb(x, sample_rate=SR)
        x = self.noise(x, sample_rate=SR)
        x = self._telephone(x, rng)
        codec = rng.uniform()
        if codec < 0.125:
            x = self.mp3(x, sample_rate=SR)
        elif codec < 0.25:
            x = opus_round_trip(x, int(rng.choice([12000, 16000, 24000, 32000])))
        return self.gain(x, sample_rate=SR).astype(np.float32)

    def _telephone(self, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        import random

        # The same one draw from `random` that audiomentations' Compose(p=...) made, and no draw
        # from ``rng`` unless narrowband is on: the default recipe's rooms stay the ones the
        # shipped parts were trained on.
        if random.random() >= self.telephone_p:
            return x
        if self.narrowband_share > 0 and rng.uniform() < self.narrowband_share:
            import soxr

            narrow = soxr.resample(x, SR, 8000, quality="HQ")
            return soxr.resample(narrow, 8000, SR, quality="HQ")[: len(x)].astype(np.float32)
        for f in self.band:
            x = f(x, sample_rate=SR)
        return x
