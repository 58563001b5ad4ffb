"""The corpus schema's optional alignment fields: round trip, validation, and absence when unset."""

from __future__ import annotations

import copy

import pytest
from pydantic import ValidationError

from lmm_apa.data.records import ERROR_TYPES, Insertion, Phone, Utterance, Word

# "WE CALL IT BEAR" as an aligner would report it: IT omitted, BEAR's EH heard as AE, a hesitation
# between WE and CALL.
ALIGNED = {
    "utt_id": "000010011",
    "text": "WE CALL IT BEAR",
    "accuracy": 7.0,
    "words": [
        {
            "text": "WE",
            "accuracy": 9.0,
            "phones": ["W", "IY0"],
            "phones-accuracy": [2.0, 2.0],
            "start": 0.12,
            "end": 0.42,
            "error_type": "none",
            "phones-start": [0.12, 0.25],
            "phones-end": [0.25, 0.42],
            "phones-heard": [None, None],
        },
        {
            "text": "CALL",
            "accuracy": 8.0,
            "phones": ["K", "AO0", "L"],
            "phones-accuracy": [2.0, 1.8, 2.0],
            "start": 0.61,
            "end": 0.98,
            "error_type": "none",
            "phones-start": [0.61, 0.7, 0.88],
            "phones-end": [0.7, 0.88, 0.98],
            "phones-heard": [None, None, None],
        },
        {
            "text": "IT",
            "accuracy": 0.0,
            "phones": ["IH0", "T"],
            "phones-accuracy": [0.0, 0.0],
            "start": None,
            "end": None,
            "error_type": "omission",
            "phones-start": [None, None],
            "phones-end": [None, None],
            "phones-heard": [None, None],
        },
        {
            "text": "BEAR",
            "accuracy": 4.0,
            "phones": ["B", "EH0", "R"],
            "phones-accuracy": [2.0, 0.6, 1.6],
            "start": 1.05,
            "end": 1.5,
            "error_type": "mispronunciation",
            "phones-start": [1.05, 1.14, 1.36],
            "phones-end": [1.14, 1.36, 1.5],
            "phones-heard": [None, "AE", None],
        },
    ],
    "insertions": [{"start": 0.42, "end": 0.61, "after_word": 0}],
}


def aligned() -> dict:
    return copy.deepcopy(ALIGNED)


def test_aligned_utterance_round_trips():
    utt = Utterance.from_corpus_dict(aligned())
    assert utt.to_corpus_dict() == ALIGNED
    assert Utterance.from_corpus_dict(utt.to_corpus_dict()) == utt
    bear, it = utt.words[3], utt.words[2]
    assert (bear.start, bear.end, bear.error_type) == (1.05, 1.5, "mispronunciation")
    assert bear.phones_start == [1.05, 1.14, 1.36] and bear.phones_heard == [None, "AE", None]
    assert it.error_type == "omission" and it.start is None and it.phones_end == [None, None]
    assert utt.insertions == [Insertion(start=0.42, end=0.61, after_word=0)]


def test_error_types_are_azures():
    assert ERROR_TYPES == ("none", "omission", "mispronunciation")


def test_unaligned_words_write_no_alignment_keys():
    labelled = {
        "text": "IT",
        "accuracy": 9.0,
        "stress": 10.0,
        "total": 9.0,
        "phones": ["IH0", "T"],
        "phones-accuracy": [2.0, 1.5],
    }
    word = Word.from_corpus_dict(labelled)
    assert word.to_corpus_dict() == labelled  # unchanged, no null keys added
    assert not word.aligned
    utt = Utterance(utt_id="u", text="IT", words=[word])
    assert "insertions" not in utt.to_corpus_dict()
    # An aligner that ran and found no extra speech says so with an empty list.
    assert Utterance(utt_id="u", text="IT", words=[word], insertions=[]).to_corpus_dict()["insertions"] == []


def test_omitted_word_keeps_null_times_and_only_the_keys_set():
    word = Word(text="IT", phones=[Phone(symbol="IH0"), Phone(symbol="T")], error_type="omission")
    out = word.to_corpus_dict()
    assert out == {"text": "IT", "phones": ["IH0", "T"], "start": None, "end": None, "error_type": "omission"}
    assert Word.from_corpus_dict(out) == word


def test_unlabelled_drops_the_alignment():
    bare = Utterance.from_corpus_dict(aligned()).unlabelled()
    assert bare.insertions is None
    for w in bare.words:
        assert not w.aligned and w.accuracy is None
    assert "insertions" not in bare.to_corpus_dict()
    assert all("start" not in w and "phones-heard" not in w for w in bare.to_corpus_dict()["words"])


def _word_error(**changes) -> str:
    d = aligned()["words"][3]
    d.update(changes)
    with pytest.raises((ValidationError, ValueError)) as e:
        Word.from_corpus_dict(d)
    return str(e.value)


@pytest.mark.parametrize("key", ["phones-start", "phones-end", "phones-heard"])
def test_parallel_lists_must_have_one_entry_per_phone(key):
    assert f"3 phones but 2 {key} entries" in _word_error(**{key: [None, None]})


def test_a_word_cannot_end_before_it_starts():
    assert "ends at 1.0 s, before it starts (1.05 s)" in _word_error(end=1.0)
    assert "before the recording" in _word_error(start=-0.1)


def test_a_phone_cannot_end_before_it_starts():
    assert "phone EH0 ends at 1.1 s" in _word_error(**{"phones-end": [1.14, 1.1, 1.5]})


def test_error_type_must_be_one_of_the_three():
    message = _word_error(error_type="substitution")
    assert "'none', 'omission' or 'mispronunciation'" in message


def test_heard_phones_are_arpabet_without_stress():
    assert "heard phone 'AE1'" in _word_error(**{"phones-heard": [None, "AE1", None]})
    assert "heard phone 'ae'" in _word_error(**{"phones-heard": [None, "ae", None]})


def test_an_omitted_word_has_no_times():
    assert "omitted but has a start or end time" in _word_error(error_type="omission")


@pytest.mark.parametrize(
    ("after_word", "message"),
    [(4, "follows word 4, but the utterance has 4 words"), (-2, "greater than or equal to -1")],
)
def test_insertions_follow_an_existing_word(after_word, message):
    d = aligned()
    d["insertions"][0]["after_word"] = after_word
    with pytest.raises(ValidationError, match=message):
        Utterance.from_corpus_dict(d)


def test_insertion_before_the_first_word_and_its_span():
    d = aligned()
    d["insertions"] = [{"start": 0.0, "end": 0.1, "after_word": -1}]
    assert Utterance.from_corpus_dict(d).insertions[0].after_word == -1
    with pytest.raises(ValidationError, match="ends at 0.1 s, before it starts"):
        Insertion(start=0.3, end=0.1, after_word=0)
