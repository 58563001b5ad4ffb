import json

import pytest

from lmm_apa.data.records import Phone, Utterance, Word
from lmm_apa.errors import DataError
from lmm_apa.eval.predictions import read_predictions, write_predictions


def _utt(uid: str = "000010011") -> Utterance:
    return Utterance(
        utt_id=uid,
        text="WE CALL",
        accuracy=8,
        total=7.5,
        words=[
            Word(text="WE", accuracy=10, phones=[Phone(symbol="W", accuracy=2.0), Phone(symbol="IY0")]),
            Word(text="CALL", stress=5, phones=[Phone(symbol="K")]),
        ],
    )


def _write_lines(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_round_trip_keeps_only_predicted_fields(tmp_path):
    path = write_predictions([_utt("a"), _utt("b")], tmp_path / "sub" / "p.jsonl")
    first = json.loads(path.read_text().splitlines()[0])
    assert first["utt_id"] == "a"
    assert "fluency" not in first and "stress" not in first["words"][0]
    got = read_predictions(path)
    assert list(got) == ["a", "b"]
    assert got["a"] == _utt("a")
    assert got["a"].words[0].phones[1].accuracy is None


def test_blank_lines_are_skipped(tmp_path):
    line = json.dumps(_utt().to_corpus_dict())
    assert list(read_predictions(_write_lines(tmp_path / "p.jsonl", ["", line, "  "]))) == ["000010011"]


@pytest.mark.parametrize(
    ("lines", "pattern"),
    [
        (['{"utt_id": "a", "text": "X"}', "{not json"], r"p\.jsonl:2: not valid JSON"),
        (['["a"]'], r"p\.jsonl:1: expected a JSON object"),
        (['{"text": "X"}'], r"p\.jsonl:1: no 'utt_id'"),
        (['{"utt_id": "a", "text": "X"}', '{"utt_id": "a", "text": "Y"}'], r":2: duplicate utt_id a"),
        (
            ['{"utt_id": "a", "text": "X", "fluency": 12}'],
            r"utterance a: sentence fluency score 12.0 is outside",
        ),
        (
            ['{"utt_id": "a", "words": [{"text": "OK"}, {"text": "BAD", "accuracy": -1}]}'],
            r"utterance a, word 1 \('BAD'\): word accuracy score -1.0 is outside",
        ),
        (
            ['{"utt_id": "a", "words": [{"text": "HI", "phones": ["HH"], "phones-accuracy": [2.5]}]}'],
            r"word 0 \('HI'\): phone accuracy score 2.5 is outside",
        ),
        (['{"utt_id": "a", "words": [{"accuracy": 3}]}'], r"word 0 \(None\): missing field 'text'"),
    ],
)
def test_malformed_files_raise_data_error(tmp_path, lines, pattern):
    with pytest.raises(DataError, match=pattern):
        read_predictions(_write_lines(tmp_path / "p.jsonl", lines))


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="predictions file not found"):
        read_predictions(tmp_path / "nope.jsonl")
