"""Typed Speechocean762 records: Utterance -> Words -> Phones, each with its scores.

One schema serves labels, model predictions and API responses. Scores are optional because a
prediction may cover only some granularities (a single-granularity model predicts one level) and a
user's own recording has no labels. The JSON form is the corpus' own (``scores.json``): phones and
their accuracies are parallel lists, ``phones-accuracy`` keeps its hyphen.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Granularity = Literal["sentence", "word", "phone"]

SENTENCE_ASPECTS: tuple[str, ...] = ("accuracy", "completeness", "fluency", "prosodic", "total")
WORD_ASPECTS: tuple[str, ...] = ("accuracy", "stress", "total")
PHONE_ASPECTS: tuple[str, ...] = ("accuracy",)
ASPECTS: dict[str, tuple[str, ...]] = {
    "sentence": SENTENCE_ASPECTS,
    "word": WORD_ASPECTS,
    "phone": PHONE_ASPECTS,
}

# Inclusive score ranges of the corpus. Word stress is only ever 5 or 10 in the labels, but a
# continuous predictor may answer in between, so the range (not the value set) is what is checked.
SCALES: dict[tuple[str, str], tuple[float, float]] = {
    **{("sentence", a): (0.0, 10.0) for a in SENTENCE_ASPECTS},
    ("word", "accuracy"): (0.0, 10.0),
    ("word", "stress"): (0.0, 10.0),
    ("word", "total"): (0.0, 10.0),
    ("phone", "accuracy"): (0.0, 2.0),
}


def _check_range(value: float | None, granularity: str, aspect: str) -> float | None:
    if value is None:
        return None
    lo, hi = SCALES[(granularity, aspect)]
    if not lo <= value <= hi:
        raise ValueError(f"{granularity} {aspect} score {value} is outside [{lo:g}, {hi:g}]")
    return float(value)


class Phone(BaseModel):
    """One canonical phone (CMU ARPAbet with stress digit, as in the corpus) and its accuracy."""

    model_config = ConfigDict(frozen=True)

    symbol: str
    accuracy: float | None = None

    @field_validator("accuracy")
    @classmethod
    def _accuracy_in_range(cls, v: float | None) -> float | None:
        return _check_range(v, "phone", "accuracy")


class Word(BaseModel):
    text: str
    accuracy: float | None = None
    stress: float | None = None
    total: float | None = None
    phones: list[Phone] = Field(default_factory=list)
    # Only the official download has these (which phone was said instead); kept verbatim.
    mispronunciations: list[dict[str, Any]] | None = None

    @model_validator(mode="after")
    def _scores_in_range(self) -> Word:
        for aspect in WORD_ASPECTS:
            _check_range(getattr(self, aspect), "word", aspect)
        return self

    def score(self, aspect: str) -> float | None:
        return getattr(self, aspect)

    def to_corpus_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"text": self.text}
        for aspect in WORD_ASPECTS:
            if getattr(self, aspect) is not None:
                out[aspect] = getattr(self, aspect)
        out["phones"] = [p.symbol for p in self.phones]
        if any(p.accuracy is not None for p in self.phones):
            out["phones-accuracy"] = [p.accuracy for p in self.phones]
        if self.mispronunciations is not None:
            out["mispronunciations"] = self.mispronunciations
        return out

    @classmethod
    def from_corpus_dict(cls, d: dict[str, Any]) -> Word:
        symbols = list(d.get("phones") or [])
        accs = d.get("phones-accuracy")
        if accs is not None and len(accs) != len(symbols):
            raise ValueError(
                f"word {d.get('text')!r}: {len(symbols)} phones but {len(accs)} phone accuracies"
            )
        phones = [
            Phone(symbol=s, accuracy=None if accs is None or accs[i] is None else float(accs[i]))
            for i, s in enumerate(symbols)
        ]
        return cls(
            text=d["text"],
            accuracy=d.get("accuracy"),
            stress=d.get("stress"),
            total=d.get("total"),
            phones=phones,
            mispronunciations=d.get("mispronunciations"),
        )


class Utterance(BaseModel):
    """A read sentence with its speaker, audio and scores at the three granularities."""

    utt_id: str
    text: str
    words: list[Word] = Field(default_factory=list)
    accuracy: float | None = None
    completeness: float | None = None
    fluency: float | None = None
    prosodic: float | None = None
    total: float | None = None
    speaker: str | None = None
    age: int | None = None
    gender: str | None = None
    # Absolute path to the audio file (None for the HF copy, whose audio is held in `audio_array`).
    audio_path: str | None = None

    @model_validator(mode="after")
    def _scores_in_range(self) -> Utterance:
        for aspect in SENTENCE_ASPECTS:
            _check_range(getattr(self, aspect), "sentence", aspect)
        return self

    def score(self, aspect: str) -> float | None:
        return getattr(self, aspect)

    @property
    def phones(self) -> list[Phone]:
        return [p for w in self.words for p in w.phones]

    def unlabelled(self) -> Utterance:
        """What a scorer may see: text, words, the corpus' own phones, speaker and audio; no scores."""
        words = [Word(text=w.text, phones=[Phone(symbol=p.symbol) for p in w.phones]) for w in self.words]
        return Utterance(
            utt_id=self.utt_id, text=self.text, words=words, speaker=self.speaker, audio_path=self.audio_path
        )

    def to_corpus_dict(self, with_id: bool = True) -> dict[str, Any]:
        """The corpus schema (a scores.json entry; with ``utt_id`` it is a predictions line)."""
        out: dict[str, Any] = {"utt_id": self.utt_id} if with_id else {}
        out["text"] = self.text
        for aspect in SENTENCE_ASPECTS:
            if getattr(self, aspect) is not None:
                out[aspect] = getattr(self, aspect)
        out["words"] = [w.to_corpus_dict() for w in self.words]
        return out

    @classmethod
    def from_corpus_dict(cls, d: dict[str, Any], utt_id: str | None = None, **meta: Any) -> Utterance:
        uid = utt_id if utt_id is not None else d.get("utt_id")
        if uid is None:
            raise ValueError("utterance has no utt_id")
        return cls(
            utt_id=str(uid),
            text=d.get("text") or " ".join(w["text"] for w in d.get("words", [])),
            words=[Word.from_corpus_dict(w) for w in d.get("words", [])],
            **{a: d.get(a) for a in SENTENCE_ASPECTS},
            **meta,
        )
