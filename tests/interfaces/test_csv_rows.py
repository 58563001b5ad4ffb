from lmm_apa.data.records import SENTENCE_ASPECTS, WORD_ASPECTS
from lmm_apa.interfaces.csv_rows import columns, error_row, word_rows

RESULT = {
    "utt_id": "u1",
    "text": "WE CALL",
    "accuracy": 7.123456,
    "total": 7.0,
    "reference": "transcribed",
    "words": [
        {
            "text": "WE",
            "accuracy": 9.0,
            "phones": ["W", "IY0"],
            "phones-accuracy": [2.0, 1.876543],
            "phones-heard": [None, "IH"],
            "start": 0.1,
            "end": 0.4,
            "error_type": "none",
        },
        {"text": "CALL", "accuracy": None, "phones": ["K", "AO0", "L"]},
    ],
}


def test_the_header_has_every_aspect_and_ipa_only_when_asked():
    plain, ipa = columns(), columns(ipa=True)
    assert plain[:5] == ["utt_id", "audio", "text", "reference", "scale"]
    assert all(f"sentence_{a}" in plain for a in SENTENCE_ASPECTS)
    assert all(f"word_{a}" in plain for a in WORD_ASPECTS)
    assert plain[-1] == ipa[-1] == "error"
    assert set(ipa) - set(plain) == {"ipa", "phones_ipa"}


def test_one_row_per_word_with_its_sentences_scores_and_joined_lists():
    rows = word_rows(RESULT, "a.wav")
    assert [r["word"] for r in rows] == ["WE", "CALL"]
    we, call = rows
    assert we["audio"] == "a.wav" and we["reference"] == "transcribed" and we["scale"] == 10
    assert we["sentence_accuracy"] == 7.1235 and call["sentence_total"] == 7.0
    assert we["sentence_fluency"] == ""  # absent scores are empty cells
    assert we["phones"] == "W IY0" and we["phones_accuracy"] == "2.0 1.8765"
    assert we["phones_heard"] == "- IH"
    assert (we["start"], we["end"], we["error_type"]) == (0.1, 0.4, "none")
    assert call["word_index"] == 1 and call["word_accuracy"] == "" and call["start"] == ""
    assert set(we) <= set(columns(ipa=True))


def test_defaults_for_a_result_without_reference_or_words():
    assert word_rows({"utt_id": "u"}, "a.wav") == []
    assert word_rows({"words": [{"text": "A"}]}, "x")[0]["reference"] == "given"


def test_an_error_row_has_no_scores():
    row = error_row("u2", "b.wav", "no speech")
    assert row == {"utt_id": "u2", "audio": "b.wav", "error": "no speech"}
    assert set(row) <= set(columns())
