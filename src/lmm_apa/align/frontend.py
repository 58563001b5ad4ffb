"""`Listener`: the aligner's front end as the scorer uses it: audio -> frames -> alignment -> evidence scores.

It owns a Whisper-base encoder because the phone recogniser was trained on its frames; the default
backbone encodes with the same model, so the scorer passes the frames on to it instead of encoding
twice (`AudioLMM.encode_audio(wave, frames=...)`). When the aligner's folder holds an encoder
adapter (`models.whisper_torch.ENCODER_ADAPTER`, trained by `align.robust_encoder` to give a noisy
recording its clean frames), the encoder is the torch one with it merged; otherwise CTranslate2's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lmm_apa.align.aligner import SKIP_BASE, SKIP_PER_PHONE, Aligner, Alignment
from lmm_apa.align.evidence_scorer import SCORER_FILE, EvidenceScorer
from lmm_apa.align.head import DEFAULT_HEAD
from lmm_apa.data.records import Utterance
from lmm_apa.errors import ModelError


@dataclass
class Heard:
    frames: np.ndarray  # (T, 512) Whisper-base frames at 50 Hz
    alignment: Alignment
    evidence: Utterance  # the reference scored from the evidence alone (`EvidenceScorer`)


class Listener:
    def __init__(
        self,
        folder: str | Path = DEFAULT_HEAD,
        encoder=None,
        skip_base: float = SKIP_BASE,
        skip_per_phone: float = SKIP_PER_PHONE,
    ):
        """``skip_base`` / ``skip_per_phone``: the aligner's cost of an omission (`Aligner`)."""
        folder = Path(folder)
        if not (folder / SCORER_FILE).is_file():
            raise ModelError(f"no evidence readout in {folder} ({SCORER_FILE}); reinstall lmm-apa")
        self.folder = folder
        self.aligner = Aligner(head_dir=folder, skip_base=skip_base, skip_per_phone=skip_per_phone)
        self.evidence_scorer = EvidenceScorer.load(folder)
        if encoder is None:
            encoder = load_encoder(folder)
        self.encoder = encoder

    def hear(self, wave: np.ndarray, reference: Utterance) -> Heard:
        return self.hear_frames(self.encoder.frames(wave), reference)

    def hear_frames(self, frames: np.ndarray, reference: Utterance) -> Heard:
        """`hear` from the recording's encoder frames, encoded already (a passage's piece, sliced
        out of the whole recording's frames: `lmm_apa.infer.passage`)."""
        alignment = self.aligner.align(frames, reference)
        return Heard(frames, alignment, self.evidence_scorer.predict(reference, alignment))

    @property
    def tag(self) -> str:
        """A short hash of this aligner's weights: caches of its evidence are keyed by it, so a
        retrained aligner never reads the evidence of the one before."""
        import hashlib

        h = hashlib.sha256()
        for f in sorted(self.folder.glob("*.safetensors")):
            h.update(f.read_bytes())
        return h.hexdigest()[:10]


def load_encoder(folder: str | Path = DEFAULT_HEAD) -> Any:
    """The Whisper-base encoder the aligner in ``folder`` reads: the torch one with the folder's
    encoder adapter merged when it has one, else CTranslate2's frozen one."""
    from lmm_apa.models.parts import whisper_ct2_dir
    from lmm_apa.models.whisper_torch import TorchWhisperEncoder, has_adapter

    if has_adapter(folder):
        return TorchWhisperEncoder(adapter=folder)
    from lmm_apa.models.whisper_ct2 import CT2WhisperEncoder

    return CT2WhisperEncoder(whisper_ct2_dir())
