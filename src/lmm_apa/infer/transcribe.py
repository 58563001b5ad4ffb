"""Unscripted speech: transcribe a recording, and score it against what was said.

Without a sentence to compare with, the recording is transcribed by Whisper-base (the same
CTranslate2 model folder the default backbone's encoder comes from, `models.parts.whisper_ct2_dir`,
run by faster-whisper, offline), and the transcript becomes the reference. The result says so
(``"reference": "transcribed"``, its ``text`` the transcript) and leaves completeness out: nothing was
expected, so nothing can be missing. Scores then say how well the words Whisper heard were said,
not whether they were the right words.

Decoding: English, beam 5, no timestamps, digits suppressed (Whisper writes "3" or "0-3-5-1"
otherwise; the corpus reads numbers as words). A segment Whisper itself puts at a no-speech
probability of `NO_SPEECH` or more is dropped (on pure silence Whisper-base still writes " You");
nothing left is an `AudioError` ("no speech found").
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np

from lmm_apa.errors import AudioError, ModelError

# Whisper's own no_speech_threshold; a clean read sentence of the corpus sits near 0.2.
NO_SPEECH = 0.6
TRANSCRIBED = "transcribed"  # the value of a result's "reference" key


class Transcriber:
    """Whisper-base through faster-whisper; the model loads on first use (~3 s, ~150 MB)."""

    def __init__(self, model_dir: str | Path | None = None, cpu_threads: int = 2) -> None:
        self.model_dir, self.cpu_threads = model_dir, cpu_threads
        self._model: Any = None
        self._suppress: list[int] = []
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                try:
                    from faster_whisper import WhisperModel
                except ImportError as e:
                    raise ModelError("transcribing needs faster-whisper: pip install faster-whisper") from e
                from lmm_apa.models.parts import whisper_ct2_dir

                folder = Path(self.model_dir) if self.model_dir is not None else whisper_ct2_dir()
                model = WhisperModel(
                    str(folder), device="cpu", compute_type="int8", cpu_threads=self.cpu_threads
                )
                self._suppress = _digit_tokens(model.hf_tokenizer)
                self._model = model
        return self._model

    def transcribe(self, wave: np.ndarray) -> str:
        """What was said in 16 kHz mono ``wave``, as Whisper writes it ("We call it bear.").

        Raises `AudioError` when no speech is found.
        """
        model = self._load()
        segments, _ = model.transcribe(
            np.asarray(wave, dtype=np.float32),
            language="en",
            beam_size=5,
            without_timestamps=True,
            condition_on_previous_text=False,
            suppress_tokens=[-1, *self._suppress],
        )
        text = " ".join(s.text.strip() for s in segments if s.no_speech_prob < NO_SPEECH).strip()
        if not any(c.isalpha() for c in text):
            raise AudioError("no speech found in the recording: nothing to transcribe and score")
        return text


def _digit_tokens(tokenizer: Any) -> list[int]:
    """Token ids whose text holds a digit (so that Whisper spells numbers out)."""
    ids = []
    for token_id in range(tokenizer.get_vocab_size()):
        piece = tokenizer.decode([token_id])
        if any(c.isdigit() for c in piece):
            ids.append(token_id)
    return ids


_default: Transcriber | None = None


def default_transcriber() -> Transcriber:
    """One Whisper-base transcriber per process (the CLI and the web app share it)."""
    global _default
    if _default is None:
        _default = Transcriber()
    return _default


def transcript_reference(transcript: str) -> str:
    """The transcript in the corpus' form: "We call it bear." -> "WE CALL IT BEAR" (lexicon rules)."""
    from lmm_apa.data.lexicon import canonical_words

    return " ".join(word for word, _ in canonical_words(transcript))


def mark_transcribed(result: dict[str, Any]) -> dict[str, Any]:
    """A result scored against a transcript: ``"reference": "transcribed"``, no completeness (nor its
    uncertainty); changed in place and returned."""
    result.pop("completeness", None)
    if isinstance(result.get("uncertainty"), dict):
        result["uncertainty"].pop("completeness", None)
    result["reference"] = TRANSCRIBED
    return result
