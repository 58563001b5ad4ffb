"""`lmm-apa score`'s report (`render_report`) on result dicts: no model needed."""

from __future__ import annotations

import copy
import io
import re

import pytest
from rich.console import Console

from lmm_apa.data.records import Utterance
from lmm_apa.interfaces.cli import score_cmd

# A scorer's JSON (`ScoreResult.to_json()`) with a forced aligner's keys: IT omitted, BEAR's EH
# heard as AE, extra speech between WE and CALL.
RESULT = {
    "utt_id": "000010011",
    "text": "WE CALL IT BEAR",
    "accuracy": 6.0,
    "fluency": 7.5,
    "words": [
        {"text": "WE", "accuracy": 9.0, "phones": ["W", "IY0"], "phones-accuracy": [2.0, 1.9],
         "start": 0.12, "end": 0.42, "error_type": "none", "phones-start": [0.12, 0.25],
         "phones-end": [0.25, 0.42], "phones-heard": [None, None]},
        {"text": "CALL", "accuracy": 8.0, "phones": ["K", "AO0", "L"], "phones-accuracy": [2.0, 1.8, 2.0],
         "start": 0.61, "end": 0.98, "error_type": "none", "phones-start": [0.61, 0.7, 0.88],
         "phones-end": [0.7, 0.88, 0.98], "phones-heard": [None, None, None]},
        {"text": "IT", "accuracy": 0.0, "phones": ["IH0", "T"], "phones-accuracy": [0.0, 0.0],
         "start": None, "end": None, "error_type": "omission", "phones-start": [None, None],
         "phones-end": [None, None], "phones-heard": [None, None]},
        {"text": "BEAR", "accuracy": 4.0, "phones": ["B", "EH0", "R"], "phones-accuracy": [2.0, 0.6, 1.6],
         "start": 1.05, "end": 1.5, "error_type": "mispronunciation", "phones-start": [1.05, 1.14, 1.36],
         "phones-end": [1.14, 1.36, 1.5], "phones-heard": [None, "AE", None]},
    ],
    "insertions": [
        {"start": 0.42, "end": 0.61, "after_word": 0},
        {"start": 0.0, "end": 0.1, "after_word": -1},
    ],
}  # fmt: skip


def render(monkeypatch, result: dict, *, ansi: bool = False) -> str:
    out = io.StringIO()
    console = Console(file=out, width=160, force_terminal=ansi, color_system="standard" if ansi else None)
    monkeypatch.setattr(score_cmd, "console", console)
    score_cmd.render_report(result, "bear.flac")
    return out.getvalue()


def rows(text: str) -> dict[str, str]:
    """Word table rows by their first cell."""
    found = {}
    for line in text.splitlines():
        cells = line.split()
        if cells and cells[0] in ("WE", "CALL", "IT", "BEAR"):
            found[cells[0]] = " ".join(cells)
    return found


def test_result_is_a_valid_corpus_line():
    # The fixture is what the library writes, so the report is tested on real output.
    assert Utterance.from_corpus_dict(copy.deepcopy(RESULT)).to_corpus_dict() == RESULT


def test_report_shows_times_errors_heard_phones_and_insertions(monkeypatch):
    text = render(monkeypatch, RESULT)
    assert re.search(r"word\s+time\s+error\s+accuracy", text)
    by_word = rows(text)
    assert by_word["WE"].startswith("WE 0.12-0.42 s 9.0")  # no error: the cell stays blank
    assert by_word["CALL"].startswith("CALL 0.61-0.98 s 8.0")
    assert by_word["IT"].startswith("IT - omitted 0.0")
    assert by_word["BEAR"].startswith("BEAR 1.05-1.50 s mispronounced 4.0")
    assert "EH0→AE 0.6" in by_word["BEAR"] and "→" not in by_word["WE"] + by_word["CALL"]
    assert "extra speech: 0.42-0.61 s after WE" in text
    assert "extra speech: 0.00-0.10 s before WE" in text


def test_omitted_words_are_dim_and_struck_through(monkeypatch):
    text = render(monkeypatch, RESULT, ansi=True)
    assert "\x1b[2;9mIT" in text  # dim (2) + strike (9)
    assert "\x1b[2;9mBEAR" not in text and "\x1b[2;9mWE" not in text
    assert "\x1b[1;31m→AE\x1b[0m" in text  # the heard phone in bold red


def test_report_without_an_aligner_is_as_before(monkeypatch):
    plain = copy.deepcopy(RESULT)
    del plain["insertions"]
    for w in plain["words"]:
        for key in ("start", "end", "error_type", "phones-start", "phones-end", "phones-heard"):
            del w[key]
    text = render(monkeypatch, plain)
    assert re.search(r"word\s+accuracy\s+stress\s+total", text)
    assert not re.search(r"\btime\b|omitted|mispronounced|extra speech|→", text)
    assert rows(text)["IT"].startswith("IT 0.0 - - IH0 0.0 T 0.0")


@pytest.mark.parametrize(("after_word", "where"), [(3, "after BEAR"), (-1, "before WE")])
def test_insertion_is_placed_by_its_word(monkeypatch, after_word, where):
    result = {**RESULT, "insertions": [{"start": 1.5, "end": 1.7, "after_word": after_word}]}
    assert f"extra speech: 1.50-1.70 s {where}" in render(monkeypatch, result)
