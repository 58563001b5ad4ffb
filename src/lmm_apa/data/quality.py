"""How good a recording is, said with every result: estimated SNR, clipping, speech duration and level.

`check_recording(wave)` finds the speech (`lmm_apa.data.speech`), refuses a recording without any
("no speech found", as `load_audio` refuses silence), and measures:
- ``snr_db``: the speech frames' power over the noise floor (the frames outside speech, or the
  quietest tenth of all frames when there is little outside), in dB;
- ``clipped_share``: the share of samples at full scale (|x| >= `CLIP_LEVEL`);
- ``speech_seconds`` and ``level_dbfs`` (the RMS of the speech frames, dB full scale);
and gives plain warnings where scores are less reliable. The thresholds come from the robustness
bench (docs/robustness.md): white noise at 20 dB SNR already moves word scores (PCC 0.8 against the
clean ones).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from lmm_apa.data.audio import SAMPLE_RATE
from lmm_apa.data.speech import SpeechSpan, find_speech
from lmm_apa.errors import AudioError

FRAME_S = 0.02
CLIP_LEVEL = 0.99
# Warn below / above these (see the module docstring).
NOISY_BELOW_DB = 15.0
CLIPPED_ABOVE = 0.001
QUIET_BELOW_DBFS = -50.0
MOSTLY_SILENCE_BELOW = 0.2
SNR_RANGE_DB = (-10.0, 60.0)
_TINY = 1e-12
_DIGITAL_SILENCE = 1e-10  # frame power (-100 dBFS): below a 16-bit recording's own noise


@dataclass
class Quality:
    snr_db: float
    clipped_share: float
    speech_seconds: float
    level_dbfs: float
    duration_seconds: float
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def check_recording(wave: np.ndarray, span: SpeechSpan | None = None) -> tuple[SpeechSpan, Quality]:
    """(where the speech is, the recording's quality); `AudioError` when no speech is found."""
    span = span if span is not None else find_speech(wave)
    duration = len(wave) / SAMPLE_RATE
    if not span.found:
        raise AudioError(
            f"no speech found in the recording ({duration:.1f} s of silence or noise): check the "
            "microphone and record again, close to it"
        )
    return span, measure(wave, span)


def measure(wave: np.ndarray, span: SpeechSpan) -> Quality:
    """The `Quality` of 16 kHz ``wave`` whose speech is ``span`` (which must have found some)."""
    x = np.asarray(wave, dtype=np.float64)
    n = int(FRAME_S * SAMPLE_RATE)
    n_frames = max(1, len(x) // n)
    power = (
        np.mean(np.square(x[: n_frames * n]).reshape(n_frames, n), axis=1) if len(x) >= n else np.array([0.0])
    )
    in_speech = np.zeros(n_frames, dtype=bool)
    for s, e in span.segments:
        in_speech[s // n : max(s // n + 1, e // n)] = True
    speech_power = float(power[in_speech].mean()) if in_speech.any() else float(power.mean())
    # Digital silence (an app's padding, a noise gate) is not the background the speech was heard in.
    recorded = power > _DIGITAL_SILENCE
    outside = power[~in_speech & recorded]
    # Outside the speech is the noise floor, when there is enough of it (0.2 s); a recording cut
    # tight around the words has little, so the quietest tenth of its frames stands in.
    if outside.size >= 10:
        noise_power = float(np.median(outside))
    else:
        noise_power = float(np.percentile(power[recorded], 10)) if recorded.any() else 0.0
    snr = 10 * np.log10(max(speech_power - noise_power, _TINY) / max(noise_power, _TINY))
    snr = float(np.clip(snr, *SNR_RANGE_DB))
    level = 10 * np.log10(max(speech_power, _TINY))
    clipped = float(np.mean(np.abs(x) >= CLIP_LEVEL)) if len(x) else 0.0
    q = Quality(
        snr_db=round(snr, 1),
        clipped_share=round(clipped, 5),
        speech_seconds=round(span.seconds, 2),
        level_dbfs=round(float(level), 1),
        duration_seconds=round(len(x) / SAMPLE_RATE, 2),
    )
    q.warnings = warnings(q)
    return q


def warnings(q: Quality) -> list[str]:
    """Plain-language warnings for a learner (and whoever reads the JSON)."""
    out = []
    if q.snr_db < NOISY_BELOW_DB:
        out.append(
            f"noisy recording (speech {q.snr_db:.0f} dB above the background): scores are less "
            "reliable; record in a quieter place"
        )
    if q.clipped_share > CLIPPED_ABOVE:
        out.append(
            f"clipped recording ({100 * q.clipped_share:.1f}% of samples at full scale): scores are "
            "less reliable; move back from the microphone or lower its volume"
        )
    if q.level_dbfs < QUIET_BELOW_DBFS:
        out.append(
            f"very quiet recording (speech at {q.level_dbfs:.0f} dBFS): scores are less reliable; "
            "speak closer to the microphone"
        )
    if q.duration_seconds > 0 and q.speech_seconds / q.duration_seconds < MOSTLY_SILENCE_BELOW:
        out.append(
            f"mostly silence ({q.speech_seconds:.1f} s of speech in {q.duration_seconds:.1f} s): only "
            "the speech was scored; check that the whole sentence was recorded"
        )
    return out


@dataclass
class Recording:
    """What the scorer scores of one recording, and what it says about it."""

    wave: np.ndarray  # cut to the speech plus `speech.MARGIN_S` a side (unless trimming is off)
    offset_s: float  # where ``wave`` starts in the original, in seconds
    quality: Quality


def prepare_recording(wave: np.ndarray, trim: bool = True) -> Recording:
    """Find the speech in 16 kHz ``wave``, measure its quality and (``trim``) cut the silence around
    it; `AudioError` when there is no speech. ``trim=False`` scores the whole recording (the
    behaviour before trimming, kept for the robustness bench)."""
    from lmm_apa.data.speech import trim_to_speech

    span, quality = check_recording(wave)
    if not trim:
        return Recording(wave, 0.0, quality)
    cut, offset = trim_to_speech(wave, span)
    return Recording(cut, offset, quality)


def summary(quality: dict[str, Any]) -> str:
    """One line for a report, from a result's ``quality`` (`Quality.to_json()`)."""
    return (
        f"{quality['speech_seconds']:.1f} s of speech in {quality['duration_seconds']:.1f} s, "
        f"SNR {quality['snr_db']:.0f} dB, speech level {quality['level_dbfs']:.0f} dBFS, "
        f"{100 * quality['clipped_share']:.1f}% clipped"
    )
