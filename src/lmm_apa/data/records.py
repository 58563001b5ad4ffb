"""Typed Speechocean762 records: Utterance -> Words -> Phones, each with its scores.

One schema serves labels, model predictions and API responses. Scores are optional because a
prediction may cover only some granularities (a single-granularity model predicts one level) and a
user's own recording has no labels. The JSON form is the corpus' own (``scores.json``): phones and
their accuracies are parallel lists, ``phones-accuracy`` keeps its hyphen.

A forced aligner may add where each word and phone was said and what went wrong, in the same style:
per word ``start`` / ``end`` (seconds), ``error_type`` (one of ``ERROR_TYPES``, as in Azure's
pronunciation assessment) and, parallel to ``phones``, ``phones-start`` / ``phones-end`` /
``phones-heard``; per utterance ``insertions`` (extra speech between words). All are optional and
written only when set, so labelled corpus data round-trips unchanged.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

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


# What an aligner says of a word, as in Azure's pronunciation assessment: said as expected, not said
# at all, or said with a sound other than the canonical one.
ErrorType = Literal["none", "omission", "mispronunciation"]
ERROR_TYPES: tuple[str, ...] = get_args(ErrorType)

# A heard phone is a CMU ARPAbet symbol without stress digit ("AH", not "AH0").
_HEARD_PHONE = re.compile(r"[A-Z]{1,3}")


# Set inside `any_finite_scores()`: scores outside their scale are accepted (another system's
# predictions, e.g. a regression's unclipped 2.05), for the evaluator to count, not to refuse.
_ANY_FINITE: ContextVar[bool] = ContextVar("lmm_apa_any_finite_scores", default=False)


@contextmanager
def any_finite_scores() -> Iterator[None]:
    """Within it, records accept any finite score, in or outside its scale (never clipped).

    Labels and this package's own scores stay checked against `SCALES`; predictions read for
    evaluation (`lmm_apa.eval.predictions.read_predictions`) are read inside it.
    """
    token = _ANY_FINITE.set(True)
    try:
        yield
    finally:
        _ANY_FINITE.reset(token)


def _check_range(value: float | None, granularity: str, aspect: str) -> float | None:
    if value is None:
        return None
    if not math.isfinite(value):
        raise ValueError(f"{granularity} {aspect} score {value} is not a finite number")
    lo, hi = SCALES[(granularity, aspect)]
    if not lo <= value <= hi and not _ANY_FINITE.get():
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


def _check_span(start: float | None, end: float | None, what: str) -> None:
    if start is not None and start < 0:
        raise ValueError(f"{what} starts at {start} s, before the recording")
    if start is not None and end is not None and end < start:
        raise ValueError(f"{what} ends at {end} s, before it starts ({start} s)")


class Insertion(BaseModel):
    """Extra speech between words (a forced aligner's finding): where, and which word it follows."""

    model_config = ConfigDict(frozen=True)

    start: float
    end: float
    # Index into the utterance's `words` of the word it follows; -1 when before the first word.
    after_word: int = Field(ge=-1)

    @model_validator(mode="after")
    def _span(self) -> Insertion:
        _check_span(self.start, self.end, "insertion")
        return self

    def to_corpus_dict(self) -> dict[str, Any]:
        return insertion_dict(self)


# Word fields an aligner fills, with their corpus keys (parallel lists keep the hyphen).
_ALIGNMENT_KEYS: dict[str, str] = {
    "start": "start",
    "end": "end",
    "error_type": "error_type",
    "phones_start": "phones-start",
    "phones_end": "phones-end",
    "phones_heard": "phones-heard",
}


class Word(BaseModel):
    text: str
    accuracy: float | None = None
    stress: float | None = None
    total: float | None = None
    phones: list[Phone] = Field(default_factory=list)
    # Only the official download has these (which phone was said instead); kept verbatim.
    mispronunciations: list[dict[str, Any]] | None = None
    # From a forced aligner (None when none ran): the word's span in the recording, in seconds
    # (None for an omitted word), what went wrong, and per phone (parallel to `phones`) its span and
    # the phone heard instead (None where the canonical phone was heard or nothing can be said).
    start: float | None = None
    end: float | None = None
    error_type: ErrorType | None = None
    phones_start: list[float | None] | None = None
    phones_end: list[float | None] | None = None
    phones_heard: list[str | None] | None = None

    @model_validator(mode="after")
    def _scores_in_range(self) -> Word:
        for aspect in WORD_ASPECTS:
            _check_range(getattr(self, aspect), "word", aspect)
        return self

    @model_validator(mode="after")
    def _alignment_consistent(self) -> Word:
        n = len(self.phones)
        for name in ("phones_start", "phones_end", "phones_heard"):
            values = getattr(self, name)
            if values is not None and len(values) != n:
                key = _ALIGNMENT_KEYS[name]
                raise ValueError(f"word {self.text!r}: {n} phones but {len(values)} {key} entries")
        _check_span(self.start, self.end, f"word {self.text!r}")
        starts = self.phones_start or [None] * n
        ends = self.phones_end or [None] * n
        for p, s, e in zip(self.phones, starts, ends, strict=True):
            _check_span(s, e, f"word {self.text!r}, phone {p.symbol}")
        for heard in self.phones_heard or []:
            if heard is not None and not _HEARD_PHONE.fullmatch(heard):
                raise ValueError(
                    f"word {self.text!r}: heard phone {heard!r} is not an ARPAbet symbol without "
                    "stress digit (e.g. 'AH')"
                )
        if self.error_type == "omission":
            said = [self.start, self.end, *(self.phones_start or []), *(self.phones_end or [])]
            if any(t is not None for t in said):
                raise ValueError(f"word {self.text!r} is omitted but has a start or end time")
        return self

    @property
    def aligned(self) -> bool:
        """Whether an aligner's output is on this word."""
        return any(getattr(self, name) is not None for name in _ALIGNMENT_KEYS)

    def score(self, aspect: str) -> float | None:
        return getattr(self, aspect)

    def to_corpus_dict(self) -> dict[str, Any]:
        out = word_head(self.text, {a: getattr(self, a) for a in WORD_ASPECTS}, self.phones)
        if self.mispronunciations is not None:
            out["mispronunciations"] = self.mispronunciations
        if self.aligned:
            # start / end go together, null for an omitted word; the rest only when set.
            out["start"], out["end"] = self.start, self.end
            for name, key in _ALIGNMENT_KEYS.items():
                if name not in ("start", "end") and getattr(self, name) is not None:
                    out[key] = getattr(self, name)
        return out

    @classmethod
    def from_corpus_dict(cls, d: dict[str, Any]) -> Word:
        phones = [
            Phone(symbol=s, accuracy=None if a is None else float(a))
            for s, a in phone_rows(d, ("phones-accuracy",))
        ]
        return cls(
            **word_scores(d),
            phones=phones,
            mispronunciations=d.get("mispronunciations"),
            **{name: d.get(key) for name, key in _ALIGNMENT_KEYS.items()},
        )


def word_head(text: str, scores: dict[str, float | None], phones: Sequence[Any]) -> dict[str, Any]:
    """A word's first keys in the corpus schema, in the corpus' order: text, its scores (those set),
    phones, and phones-accuracy when any phone is scored. ``phones`` have ``symbol`` and ``accuracy``
    (this module's `Phone`, or the public API's result)."""
    out: dict[str, Any] = {"text": text}
    out.update({aspect: scores[aspect] for aspect in WORD_ASPECTS if scores.get(aspect) is not None})
    out["phones"] = [p.symbol for p in phones]
    if any(p.accuracy is not None for p in phones):
        out["phones-accuracy"] = [p.accuracy for p in phones]
    return out


def word_scores(d: dict[str, Any]) -> dict[str, Any]:
    """A corpus-schema word's text and scores (None where not given), as keyword arguments."""
    return {"text": d["text"], **{aspect: d.get(aspect) for aspect in WORD_ASPECTS}}


def phone_rows(d: dict[str, Any], keys: Sequence[str]) -> list[tuple[Any, ...]]:
    """A corpus-schema word's phones, one row each: the symbol, then its entry in each of the
    parallel lists ``keys`` (None for a list the word lacks). A list whose length is not the
    number of phones raises ValueError."""
    symbols = list(d.get("phones") or [])
    n = len(symbols)
    columns = []
    for key in keys:
        values = d.get(key)
        if values is not None and len(values) != n:
            raise ValueError(f"word {d.get('text')!r}: {n} phones but {len(values)} {key!r} entries")
        columns.append([None] * n if values is None else list(values))
    return list(zip(symbols, *columns, strict=True))


def utterance_head(utt_id: str | None, text: str, scores: dict[str, float | None]) -> dict[str, Any]:
    """An utterance's first keys in the corpus schema: utt_id (unless None), text, and its scores
    (those set), in the corpus' order; ``words`` come next."""
    out: dict[str, Any] = {} if utt_id is None else {"utt_id": utt_id}
    out["text"] = text
    out.update({aspect: scores[aspect] for aspect in SENTENCE_ASPECTS if scores.get(aspect) is not None})
    return out


def utterance_text(d: dict[str, Any]) -> str:
    """A corpus-schema utterance's text, or its words' joined when it has none."""
    return d.get("text") or " ".join(w["text"] for w in d.get("words") or [])


def insertion_dict(ins: Any) -> dict[str, Any]:
    """An insertion (this module's, or the public API's result) in the corpus schema."""
    return {"start": ins.start, "end": ins.end, "after_word": ins.after_word}


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
    # From a forced aligner (None when none ran; [] when it found none): extra speech between words.
    insertions: list[Insertion] | None = None

    @model_validator(mode="after")
    def _scores_in_range(self) -> Utterance:
        for aspect in SENTENCE_ASPECTS:
            _check_range(getattr(self, aspect), "sentence", aspect)
        return self

    @model_validator(mode="after")
    def _insertions_follow_words(self) -> Utterance:
        for ins in self.insertions or []:
            if ins.after_word >= len(self.words):
                raise ValueError(
                    f"insertion at {ins.start}-{ins.end} s follows word {ins.after_word}, "
                    f"but the utterance has {len(self.words)} words"
                )
        return self

    def score(self, aspect: str) -> float | None:
        return getattr(self, aspect)

    @property
    def phones(self) -> list[Phone]:
        return [p for w in self.words for p in w.phones]

    def unlabelled(self) -> Utterance:
        """What a scorer may see: text, words, the corpus' own phones, speaker and audio; no scores
        and no alignment."""
        words = [Word(text=w.text, phones=[Phone(symbol=p.symbol) for p in w.phones]) for w in self.words]
        return Utterance(
            utt_id=self.utt_id, text=self.text, words=words, speaker=self.speaker, audio_path=self.audio_path
        )

    def to_corpus_dict(self, with_id: bool = True) -> dict[str, Any]:
        """The corpus schema (a scores.json entry; with ``utt_id`` it is a predictions line)."""
        scores = {a: getattr(self, a) for a in SENTENCE_ASPECTS}
        out = utterance_head(self.utt_id if with_id else None, self.text, scores)
        out["words"] = [w.to_corpus_dict() for w in self.words]
        if self.insertions is not None:
            out["insertions"] = [ins.to_corpus_dict() for ins in self.insertions]
        return out

    @classmethod
    def from_corpus_dict(cls, d: dict[str, Any], utt_id: str | None = None, **meta: Any) -> Utterance:
        uid = utt_id if utt_id is not None else d.get("utt_id")
        if uid is None:
            raise ValueError("utterance has no utt_id")
        return cls(
            utt_id=str(uid),
            text=utterance_text(d),
            words=[Word.from_corpus_dict(w) for w in d.get("words", [])],
            **{a: d.get(a) for a in SENTENCE_ASPECTS},
            insertions=d.get("insertions"),
            **meta,
        )
