"""What `Assessor.score` returns: typed scores of a recording, word and phone, that read back from JSON.

`Result.to_dict()` is the corpus schema `lmm-apa score --json` writes (a Speechocean762
``scores.json`` entry: phones and their accuracies as parallel lists, hyphenated keys, plus the
aligner's keys and ``meta``), and `Result.from_dict` reads it back, so results saved as JSON Lines
load again as objects. Keys this module does not know are kept in ``extra`` and written back
unchanged, so a round trip loses nothing.

Only the standard library and the corpus schema (`data.records`, pydantic) here: importing the result
types must not load torch.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from typing import Any, Literal

from lmm_apa.data.records import (
    SENTENCE_ASPECTS,
    WORD_ASPECTS,
    insertion_dict,
    phone_rows,
    utterance_head,
    utterance_text,
    word_head,
    word_scores,
)

# Word keys `from_dict` turns into attributes; any other key goes to `WordResult.extra`.
_WORD_KEYS = frozenset(
    {
        "text", *WORD_ASPECTS, "phones", "phones-accuracy", "start", "end", "error_type",
        "phones-start", "phones-end", "phones-heard", "ipa", "phones-ipa", "phones-heard-ipa",
    }
)  # fmt: skip
_RESULT_KEYS = frozenset(
    {"utt_id", "text", *SENTENCE_ASPECTS, "words", "insertions", "uncertainty", "problems", "reference"}
    | {"scale", "meta"}
)
# A phone's parallel lists after its accuracy, in `PhoneResult`'s order (start, end, heard, IPA).
_PHONE_COLUMNS = ("phones-start", "phones-end", "phones-heard", "phones-ipa", "phones-heard-ipa")
# Word keys only an aligner writes: any of them present means the word was aligned.
_ALIGNMENT_KEYS = ("start", "end", "error_type", "phones-start", "phones-end", "phones-heard")


@dataclass(frozen=True)
class PhoneResult:
    """One canonical phone of a word and how well it was said.

    ``symbol`` is CMU ARPAbet with its stress digit (``"EH0"``); ``accuracy`` 0-2 (0-100 on the
    0-100 scale). Where the aligner ran: ``start`` / ``end`` in seconds (None for an omitted word)
    and ``heard``, the phone heard in its place when it was more wrong than right (ARPAbet without
    stress digit, ``"AE"``), else None. With ``phones="ipa"``: ``ipa`` (``"ˈɛ"``) and ``heard_ipa``.
    """

    symbol: str
    accuracy: float | None = None
    start: float | None = None
    end: float | None = None
    heard: str | None = None
    ipa: str | None = None
    heard_ipa: str | None = None

    def __repr__(self) -> str:
        heard = f", heard={self.heard!r}" if self.heard else ""
        return f"PhoneResult({self.symbol!r}, accuracy={_num(self.accuracy)}{heard})"


@dataclass(frozen=True)
class WordResult:
    """One word: its scores, its phones, and where the aligner found it.

    ``accuracy`` and ``total`` 0-10, ``stress`` 5 or 10 (x10 on the 0-100 scale). ``error_type``
    is ``"none"``, ``"omission"`` (not said: no times, scores 0) or ``"mispronunciation"``;
    ``start`` / ``end`` are seconds into the recording. ``aligned`` says whether an aligner ran
    (``listen=False`` scores without one: then these are all None). ``ipa``: the word in IPA
    (``"ˈbɛɹ"``) when asked for.
    """

    text: str
    accuracy: float | None = None
    stress: float | None = None
    total: float | None = None
    phones: tuple[PhoneResult, ...] = ()
    start: float | None = None
    end: float | None = None
    error_type: Literal["none", "omission", "mispronunciation"] | None = None
    ipa: str | None = None
    aligned: bool = False
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def omitted(self) -> bool:
        """Whether the aligner found the word unsaid."""
        return self.error_type == "omission"

    def to_dict(self) -> dict[str, Any]:
        """The word in the corpus schema (keys in the order `lmm-apa score --json` writes them)."""
        out = word_head(self.text, {a: getattr(self, a) for a in WORD_ASPECTS}, self.phones)
        extra = dict(self.extra)
        if "mispronunciations" in extra:  # the official download's key, where the corpus puts it
            out["mispronunciations"] = extra.pop("mispronunciations")
        if self.aligned:
            out["start"], out["end"] = self.start, self.end
            if self.error_type is not None:
                out["error_type"] = self.error_type
            out["phones-start"] = [p.start for p in self.phones]
            out["phones-end"] = [p.end for p in self.phones]
            out["phones-heard"] = [p.heard for p in self.phones]
        if self.ipa is not None:
            out["phones-ipa"] = [p.ipa for p in self.phones]
            out["ipa"] = self.ipa
            if self.aligned:
                out["phones-heard-ipa"] = [p.heard_ipa for p in self.phones]
        return {**out, **extra}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> WordResult:
        """A word from its corpus-schema dict (the inverse of `to_dict`)."""
        rows = phone_rows(d, ("phones-accuracy", *_PHONE_COLUMNS))
        phones = tuple(
            PhoneResult(symbol=s, accuracy=a, start=st, end=en, heard=h, ipa=i, heard_ipa=hi)
            for s, a, st, en, h, i, hi in rows
        )
        return cls(
            **word_scores(d),
            phones=phones,
            start=d.get("start"),
            end=d.get("end"),
            error_type=d.get("error_type"),
            ipa=d.get("ipa"),
            aligned=any(k in d for k in _ALIGNMENT_KEYS),
            extra={k: v for k, v in d.items() if k not in _WORD_KEYS},
        )

    def __repr__(self) -> str:
        said = self.start is not None and self.end is not None
        span = f", {self.start:.2f}-{self.end:.2f} s" if said else ""
        error = f", {self.error_type}" if self.error_type not in (None, "none") else ""
        phones = ", ".join(_phone_text(p) for p in self.phones)
        scores = ", ".join(f"{a}={_num(getattr(self, a))}" for a in WORD_ASPECTS)
        return f"WordResult({self.text!r}, {scores}{span}{error}, phones=[{phones}])"


@dataclass(frozen=True)
class Insertion:
    """Extra speech the aligner found between words: seconds, and the index in ``words`` of the
    word it follows (-1: before the first)."""

    start: float
    end: float
    after_word: int


@dataclass(frozen=True)
class Result:
    """The scores of one recording, at sentence, word and phone level.

    Sentence scores are 0-10 on the corpus scales (``scale == 10``) or 0-100 (``scale == 100``);
    ``completeness`` is None for unscripted speech (``reference == "transcribed"``: ``text`` is
    then what Whisper heard). ``words`` hold each word's scores and phones. ``uncertainty`` is the
    spread (standard deviation) of every score in the same shape as `to_dict`'s scores (one-pass
    scoring only, else None). ``insertions``: extra speech between words (None without the
    aligner). ``problems``: what did not parse (``mode="generate"`` only). ``meta``: the model and
    whose Whisper-base weights heard the recording.

    ``print(r)`` gives one readable line; in a notebook ``r`` shows as a table. `to_dict` /
    `to_json` give the corpus schema `lmm-apa score --json` writes, and `from_dict` reads it back.
    """

    utt_id: str
    text: str
    words: tuple[WordResult, ...] = ()
    accuracy: float | None = None
    completeness: float | None = None
    fluency: float | None = None
    prosodic: float | None = None
    total: float | None = None
    reference: Literal["given", "transcribed"] = "given"
    scale: Literal[10, 100] = 10
    insertions: tuple[Insertion, ...] | None = None
    uncertainty: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    problems: tuple[str, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    extra: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The corpus schema, as one line of `lmm-apa score --json` (``meta`` included)."""
        out = utterance_head(self.utt_id, self.text, {a: getattr(self, a) for a in SENTENCE_ASPECTS})
        out["words"] = [w.to_dict() for w in self.words]
        if self.insertions is not None:
            out["insertions"] = [insertion_dict(i) for i in self.insertions]
        if self.uncertainty is not None:
            out["uncertainty"] = self.uncertainty
        if self.problems:
            out["problems"] = list(self.problems)
        if self.reference == "transcribed":
            out["reference"] = "transcribed"
        if self.scale == 100:
            out["scale"] = 100
        out.update(self.extra)
        if self.meta:
            out["meta"] = self.meta
        return out

    def to_json(self, **kwargs: Any) -> str:
        """`to_dict` as JSON (non-ASCII kept: IPA); ``kwargs`` go to `json.dumps` (``indent=2``)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, **kwargs)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Result:
        """A result from what `to_dict` wrote (or a line of `lmm-apa score --json`, or a corpus
        ``scores.json`` entry given its ``utt_id``)."""
        from lmm_apa.errors import InputError

        if not isinstance(d, dict):
            raise InputError(f"Result.from_dict: expected a dict, not a {type(d).__name__}")
        try:
            return cls._from_dict(d)
        except KeyError as e:
            raise InputError(f"Result.from_dict: not a result in the corpus schema: no {e} key") from None
        except (TypeError, ValueError, AttributeError) as e:
            raise InputError(f"Result.from_dict: not a result in the corpus schema: {e}") from None

    @classmethod
    def _from_dict(cls, d: dict[str, Any]) -> Result:
        words = tuple(WordResult.from_dict(w) for w in d.get("words") or [])
        insertions = d.get("insertions")
        return cls(
            utt_id=str(d.get("utt_id", "")),
            text=utterance_text(d),
            words=words,
            **{a: d.get(a) for a in SENTENCE_ASPECTS},
            reference="transcribed" if d.get("reference") == "transcribed" else "given",
            scale=100 if d.get("scale") == 100 else 10,
            insertions=None if insertions is None else tuple(Insertion(**i) for i in insertions),
            uncertainty=d.get("uncertainty"),
            problems=tuple(d.get("problems") or ()),
            meta=dict(d.get("meta") or {}),
            extra={k: v for k, v in d.items() if k not in _RESULT_KEYS},
        )

    def __str__(self) -> str:
        top = 100 if self.scale == 100 else 10
        sentence = ", ".join(
            f"{a} {_num(getattr(self, a))}" for a in SENTENCE_ASPECTS[:-1] if getattr(self, a) is not None
        )
        words = ", ".join(f"{w.text} {_num(w.total)}{_ERROR_NOTE.get(w.error_type, '')}" for w in self.words)
        transcribed = " (transcribed)" if self.reference == "transcribed" else ""
        return f'"{self.text}"{transcribed}: total {_num(self.total)}/{top} ({sentence}); words: {words}'

    def __repr__(self) -> str:
        scores = ", ".join(
            f"{a}={_num(getattr(self, a))}" for a in SENTENCE_ASPECTS if getattr(self, a) is not None
        )
        words = ", ".join(f"{w.text} {_num(w.total)}" for w in self.words)
        return f"Result({self.text!r}, {scores}, words=[{words}])"

    def _repr_html_(self) -> str:
        """A compact table for notebooks: the sentence scores, then one row per word."""
        e = html.escape
        top = 100 if self.scale == 100 else 10
        heads = [a for a in SENTENCE_ASPECTS if getattr(self, a) is not None]
        sentence = "".join(f"<th>{a}</th>" for a in heads)
        values = "".join(f"<td>{_num(getattr(self, a))}</td>" for a in heads)
        aligned = any(w.aligned for w in self.words)
        cols = ["word", *(["time (s)", "error"] if aligned else []), "accuracy", "stress", "total", "phones"]
        rows = []
        for w in self.words:
            cells = [f"<b>{e(w.text)}</b>" if not w.omitted else f"<s>{e(w.text)}</s>"]
            if aligned:
                span = f"{w.start:.2f}-{w.end:.2f}" if w.start is not None and w.end is not None else "-"
                cells += [span, "" if w.error_type in (None, "none") else e(w.error_type)]
            cells += [_num(w.accuracy), _num(w.stress), _num(w.total)]
            cells.append(" ".join(e(_phone_text(p)) for p in w.phones))
            rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
        transcribed = " (transcribed)" if self.reference == "transcribed" else ""
        return (
            f"<div><p><b>{e(self.text)}</b>{transcribed}, scores 0-{top}</p>"
            f"<table><tr>{sentence}</tr><tr>{values}</tr></table>"
            f"<table><tr>{''.join(f'<th>{c}</th>' for c in cols)}</tr>{''.join(rows)}</table></div>"
        )


_ERROR_NOTE = {"omission": " (omitted)", "mispronunciation": " (mispronounced)"}


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _phone_text(p: PhoneResult) -> str:
    """``EH0 1.2→AE``: the phone, its accuracy, and what was heard in its place."""
    heard = f"→{p.heard}" if p.heard else ""
    return f"{p.symbol} {_num(p.accuracy)}{heard}"
