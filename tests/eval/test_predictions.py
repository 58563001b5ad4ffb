import json

import pytest

from lmm_apa.data.records import Phone, Utterance, Word, any_finite_scores
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
        (['{"utt_id": "a", "text": "X", "fluency": "high"}'], r"utterance a: fluency \"high\" is not a"),
        (['{"utt_id": "a", "text": "X", "fluency": "7.5"}'], r"utterance a: fluency \"7.5\" is not a number"),
        (['{"utt_id": "a", "text": "X", "total": NaN}'], r"utterance a: total nan is not a finite number"),
        (
            ['{"utt_id": "a", "words": [{"text": "OK"}, {"text": "BAD", "accuracy": true}]}'],
            r"utterance a, word 1 \('BAD'\): accuracy true is not a number",
        ),
        (
            ['{"utt_id": "a", "words": [{"text": "HI", "phones": ["HH"], "phones-accuracy": [Infinity]}]}'],
            r"word 0 \('HI'\): phones-accuracy\[0\] inf is not a finite number",
        ),
        (
            ['{"utt_id": "a", "words": [{"text": "HI", "stress": [10]}]}'],
            r"word 0 \('HI'\): stress \[10\] is not a number",
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


def test_scores_outside_their_scale_are_kept_as_they_are(tmp_path):
    """Another system's unclipped output (a regression's 2.05 for a phone) is read, not refused or clipped."""
    line = {
        "utt_id": "a",
        "text": "HI THERE",
        "fluency": 10.4,
        "accuracy": -0.3,
        "words": [
            {
                "text": "HI",
                "accuracy": 11,
                "stress": 4.2,
                "phones": ["HH", "AY1"],
                "phones-accuracy": [2.05, -0.1],
            },
            {"text": "THERE", "total": 1e3, "phones": ["DH"], "phones-accuracy": [1.5]},
        ],
    }
    got = read_predictions(_write_lines(tmp_path / "p.jsonl", [json.dumps(line)]))["a"]
    assert (got.fluency, got.accuracy) == (10.4, -0.3)
    assert (got.words[0].accuracy, got.words[0].stress, got.words[1].total) == (11, 4.2, 1000)
    assert [p.accuracy for p in got.phones] == [2.05, -0.1, 1.5]
    assert got.to_corpus_dict() == line


def test_labels_stay_checked_against_their_scales():
    with pytest.raises(ValueError, match=r"phone accuracy score 2.05 is outside \[0, 2\]"):
        Phone(symbol="AY1", accuracy=2.05)
    with pytest.raises(ValueError, match="sentence fluency score 12.0 is outside"):
        Utterance(utt_id="a", text="X", fluency=12)
    with any_finite_scores():
        assert Phone(symbol="AY1", accuracy=2.05).accuracy == 2.05
        with pytest.raises(ValueError, match="not a finite number"):
            Phone(symbol="AY1", accuracy=float("nan"))
    with pytest.raises(ValueError, match="outside"):  # the context is left: strict again
        Phone(symbol="AY1", accuracy=2.05)
