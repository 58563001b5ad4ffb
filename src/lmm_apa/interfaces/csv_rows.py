"""Results as a spreadsheet opens them, one row per word: `lmm-apa score --format csv` and the web
API's CSV answer (both interfaces write the same rows).

Each row holds its utterance's sentence scores, then the word's own; lists parallel to the word's
phones are space-separated in one cell (``W IY0`` / ``2.0 1.9``; a null entry is ``-``). The
aligner's keys (``start``, ``end``, ``error_type``, ``phones_heard``) are empty where no aligner ran.
A recording that could not be scored is one row with its ``error`` and no scores. Columns:
`columns(ipa)`.
"""

from __future__ import annotations

from typing import Any

from lmm_apa.data.records import SENTENCE_ASPECTS, WORD_ASPECTS

_UTTERANCE = ("utt_id", "audio", "text", "reference", "scale")
_SENTENCE = tuple(f"sentence_{a}" for a in SENTENCE_ASPECTS)
_WORD = ("word_index", "word", *(f"word_{a}" for a in WORD_ASPECTS), "start", "end", "error_type")
_PHONES = ("phones", "phones_accuracy", "phones_heard")


def columns(ipa: bool = False) -> list[str]:
    """The header: utterance, sentence scores, word, word scores and times, phones (IPA if asked), error."""
    return [*_UTTERANCE, *_SENTENCE, *_WORD, *_PHONES, *(("ipa", "phones_ipa") if ipa else ()), "error"]


def _cell(value: Any) -> Any:
    if isinstance(value, list):
        return " ".join("-" if v is None else str(_round(v)) for v in value)
    return "" if value is None else _round(value)


def _round(value: Any) -> Any:
    # 4 decimals: finer than any score means (the JSON output keeps every digit).
    return round(value, 4) if isinstance(value, float) else value


def word_rows(result: dict[str, Any], audio: str) -> list[dict[str, Any]]:
    """One row per word of a result (`ScoreResult.to_json()`, maybe in IPA or on 0-100)."""
    utterance = {
        "utt_id": result.get("utt_id"),
        "audio": audio,
        "text": result.get("text"),
        "reference": result.get("reference", "given"),
        "scale": result.get("scale", 10),
        **{f"sentence_{a}": result.get(a) for a in SENTENCE_ASPECTS},
    }
    rows = []
    for i, w in enumerate(result.get("words", [])):
        row = {
            **utterance,
            "word_index": i,
            "word": w["text"],
            **{f"word_{a}": w.get(a) for a in WORD_ASPECTS},
            "start": w.get("start"),
            "end": w.get("end"),
            "error_type": w.get("error_type"),
            "phones": w.get("phones"),
            "phones_accuracy": w.get("phones-accuracy"),
            "phones_heard": w.get("phones-heard"),
            "ipa": w.get("ipa"),
            "phones_ipa": w.get("phones-ipa"),
        }
        rows.append({k: _cell(v) for k, v in row.items()})
    return rows


def error_row(utt_id: str, audio: str, error: str) -> dict[str, Any]:
    return {"utt_id": utt_id, "audio": audio, "error": error}
