"""Predictions files: JSON Lines, one utterance a line, in the corpus schema plus ``utt_id``.

A line is ``Utterance.to_corpus_dict()``: e.g. ``{"utt_id": "000010011", "text": "WE CALL IT BEAR",
"accuracy": 8, ..., "words": [{"text": "WE", "accuracy": 10, "phones": ["W", "IY0"],
"phones-accuracy": [2.0, 2.0]}, ...]}``. Fields a model does not predict are left out; the metrics
skip them. Blank lines are allowed.

Other systems' predictions are taken as they are: a score may be any finite JSON number, inside or
outside its scale (a regression's unclipped 2.05 for a phone), and is never clipped; the evaluator
reports per granularity and aspect how many lay outside (`lmm_apa.eval.metrics`). A score that is not
a number (a string, true/false, NaN, Infinity) is refused, naming the utterance, word and field.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from lmm_apa.data.records import SENTENCE_ASPECTS, WORD_ASPECTS, Utterance, Word, any_finite_scores
from lmm_apa.errors import DataError


def write_predictions(
    utts: Iterable[Utterance], path: str | Path, meta: dict[str, Any] | None = None
) -> Path:
    """Write one ``to_corpus_dict()`` line per utterance; creates the parent folder.

    ``meta`` (what scored them: the model, whose Whisper-base weights) is added to every line as
    ``"meta"``, as `lmm-apa score --json` writes it; reading ignores it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    extra = {"meta": meta} if meta is not None else {}
    with path.open("w", encoding="utf-8") as f:
        for utt in utts:
            f.write(json.dumps({**utt.to_corpus_dict(), **extra}, ensure_ascii=False) + "\n")
    return path


def _error_text(e: Exception) -> str:
    if isinstance(e, ValidationError):
        msg = e.errors()[0]["msg"]
        return msg.removeprefix("Value error, ")
    if isinstance(e, KeyError):
        return f"missing field {e.args[0]!r}"
    return str(e)


def _not_a_number(value: Any) -> str | None:
    """Why ``value`` is not a score (None when it is one: null or a finite number)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"{json.dumps(value)} is not a number"
    if not math.isfinite(value):
        return f"{value} is not a finite number"
    return None


def _check_numbers(d: dict[str, Any], where: str) -> None:
    """Every score field is null or a finite JSON number: pydantic alone would read "2.05" or true."""
    uid = d.get("utt_id")
    for aspect in SENTENCE_ASPECTS:
        if why := _not_a_number(d.get(aspect)):
            raise DataError(f"{where}: utterance {uid}: {aspect} {why}")
    for i, w in enumerate(d.get("words", [])):
        if not isinstance(w, dict):
            continue  # from_corpus_dict names the word
        fields = [(a, w.get(a)) for a in WORD_ASPECTS]
        accs = w.get("phones-accuracy")
        if isinstance(accs, list):
            fields += [(f"phones-accuracy[{j}]", x) for j, x in enumerate(accs)]
        for name, value in fields:
            if why := _not_a_number(value):
                raise DataError(f"{where}: utterance {uid}, word {i} ({w.get('text')!r}): {name} {why}")


def _parse_line(d: Any, where: str) -> Utterance:
    if not isinstance(d, dict):
        raise DataError(f"{where}: expected a JSON object, got {type(d).__name__}")
    uid = d.get("utt_id")
    if uid is None or str(uid) == "":
        raise DataError(f"{where}: no 'utt_id'")
    words = d.get("words", [])
    if not isinstance(words, list):
        raise DataError(f"{where}: utterance {uid}: 'words' must be a list")
    _check_numbers(d, where)
    try:
        with any_finite_scores():
            return Utterance.from_corpus_dict(d)
    except (ValidationError, ValueError, KeyError, TypeError) as e:
        err = e
    # Locate the offending word so the message names it; sentence-level problems fall through.
    for i, w in enumerate(words):
        try:
            with any_finite_scores():
                Word.from_corpus_dict(w)
        except (ValidationError, ValueError, KeyError, TypeError, AttributeError) as e:
            text = w.get("text") if isinstance(w, dict) else None
            raise DataError(f"{where}: utterance {uid}, word {i} ({text!r}): {_error_text(e)}") from None
    raise DataError(f"{where}: utterance {uid}: {_error_text(err)}") from None


def read_predictions(path: str | Path) -> dict[str, Utterance]:
    """Read a predictions file into ``{utt_id: Utterance}``.

    Raises ``DataError`` for a missing file, a line that is not a JSON object (naming the line),
    a duplicate ``utt_id``, or a score that is not a finite number (naming the utterance and field).
    Scores outside their scale are kept as they are.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"predictions file not found: {path}")
    out: dict[str, Utterance] = {}
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                d = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(f"{where}: not valid JSON ({e.msg})") from None
            utt = _parse_line(d, where)
            if utt.utt_id in out:
                raise DataError(f"{where}: duplicate utt_id {utt.utt_id}")
            out[utt.utt_id] = utt
    return out
