"""`lmm_apa.Result`: the corpus schema in and out, and how a result shows itself. No model needed."""

import copy
import json

import pytest

from lmm_apa import InputError, Insertion, PhoneResult, Result, WordResult

# A line as `lmm-apa score --json --phones ipa` writes it (the aligner ran; BEAR's EH0 heard as AE,
# IT omitted), shortened to three words.
SCORED = {
    "utt_id": "000010011",
    "text": "WE IT BEAR",
    "accuracy": 6.5,
    "completeness": 6.667,
    "fluency": 6.0,
    "prosodic": 6.2,
    "total": 6.1,
    "words": [
        {
            "text": "WE", "accuracy": 9.8, "stress": 10.0, "total": 9.8, "phones": ["W", "IY0"],
            "phones-accuracy": [2.0, 1.9], "start": 0.64, "end": 0.82, "error_type": "none",
            "phones-start": [0.64, 0.74], "phones-end": [0.74, 0.82], "phones-heard": [None, None],
            "phones-ipa": ["w", "i"], "ipa": "wi", "phones-heard-ipa": [None, None],
        },
        {
            "text": "IT", "accuracy": 0.0, "stress": 5.0, "total": 0.0, "phones": ["IH0", "T"],
            "phones-accuracy": [0.0, 0.0], "start": None, "end": None, "error_type": "omission",
            "phones-start": [None, None], "phones-end": [None, None], "phones-heard": [None, None],
            "phones-ipa": ["ɪ", "t"], "ipa": "ɪt", "phones-heard-ipa": [None, None],
        },
        {
            "text": "BEAR", "accuracy": 5.5, "stress": 10.0, "total": 5.6, "phones": ["B", "EH0", "R"],
            "phones-accuracy": [2.0, 0.6, 1.7], "start": 1.64, "end": 1.82, "error_type": "mispronunciation",
            "phones-start": [1.64, 1.72, 1.78], "phones-end": [1.72, 1.78, 1.82],
            "phones-heard": [None, "AE", None], "phones-ipa": ["b", "ɛ", "ɹ"], "ipa": "bɛɹ",
            "phones-heard-ipa": [None, "æ", None],
        },
    ],
    "insertions": [{"start": 0.9, "end": 1.0, "after_word": 0}],
    "uncertainty": {"total": 0.4, "words": [{"text": "WE", "accuracy": 0.1}]},
    "meta": {"model": "default"},
}  # fmt: skip

# A corpus scores.json entry (no aligner, the official download's extra key), given an utt_id.
CORPUS = {
    "utt_id": "000010011",
    "text": "WE CALL IT BEAR",
    "accuracy": 8,
    "completeness": 10.0,
    "fluency": 9,
    "prosodic": 9,
    "total": 8,
    "words": [
        {"text": "WE", "accuracy": 10, "stress": 10, "total": 10, "phones": ["W", "IY0"],
         "phones-accuracy": [2.0, 2.0], "mispronunciations": []},
    ],
}  # fmt: skip


@pytest.mark.parametrize("d", [SCORED, CORPUS], ids=["scored", "corpus"])
def test_from_dict_reads_back_what_to_dict_wrote(d):
    r = Result.from_dict(copy.deepcopy(d))
    assert r.to_dict() == d
    assert json.loads(r.to_json()) == d
    assert Result.from_dict(r.to_dict()) == r


def test_typed_attributes():
    r = Result.from_dict(SCORED)
    assert r.total == 6.1 and r.completeness == 6.667 and r.reference == "given" and r.scale == 10
    we, it, bear = r.words
    assert isinstance(bear, WordResult) and isinstance(bear.phones[1], PhoneResult)
    assert bear.phones[1] == PhoneResult("EH0", 0.6, start=1.72, end=1.78, heard="AE", ipa="ɛ", heard_ipa="æ")
    assert we.start == 0.64 and we.ipa == "wi" and we.aligned
    assert it.omitted and it.start is None and bear.error_type == "mispronunciation"
    assert r.insertions == (Insertion(0.9, 1.0, 0),)
    assert r.meta == {"model": "default"}


def test_transcribed_and_0_100_round_trip():
    d = {**copy.deepcopy(CORPUS), "reference": "transcribed", "scale": 100}
    del d["completeness"]
    r = Result.from_dict(d)
    assert r.reference == "transcribed" and r.scale == 100 and r.completeness is None
    assert r.to_dict() == d
    assert "(transcribed)" in str(r) and "/100" in str(r)


def test_shows_as_a_line_and_as_a_table():
    r = Result.from_dict(SCORED)
    line = str(r)
    assert "\n" not in line
    assert line.startswith('"WE IT BEAR": total 6.1/10') and "IT 0.0 (omitted)" in line
    assert "BEAR 5.6 (mispronounced)" in line
    assert repr(r).startswith("Result('WE IT BEAR', accuracy=6.5") and "\n" not in repr(r)
    assert repr(r.words[2]) == (
        "WordResult('BEAR', accuracy=5.5, stress=10.0, total=5.6, 1.64-1.82 s, mispronunciation, "
        "phones=[B 2.0, EH0 0.6→AE, R 1.7])"
    )
    html = r._repr_html_()
    assert html.count("<tr>") == 2 + 1 + 3  # sentence header and values, word header, 3 words
    assert "<s>IT</s>" in html and "EH0 0.6→AE" in html and "1.64-1.82" in html


def test_html_escapes_the_text():
    r = Result.from_dict({"utt_id": "x", "text": "<script>", "words": [{"text": "<b>", "phones": []}]})
    assert "<script>" not in r._repr_html_() and "&lt;script&gt;" in r._repr_html_()


def test_from_dict_refuses_what_is_not_a_dict():
    with pytest.raises(InputError, match="from_dict: expected a dict, not a str"):
        Result.from_dict('{"text": "a"}')
    with pytest.raises(InputError, match="2 phones but 1 'phones-accuracy'"):
        Result.from_dict(
            {
                "utt_id": "x",
                "text": "WE",
                "words": [{"text": "WE", "phones": ["W", "IY0"], "phones-accuracy": [2.0]}],
            }
        )
    with pytest.raises(InputError, match="no 'text' key"):
        Result.from_dict({"utt_id": "x", "words": [{"phones": []}]})
