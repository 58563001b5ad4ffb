"""The ARPAbet -> IPA table and where stress marks go (`lmm_apa.data.ipa`)."""

import pytest

from lmm_apa.align.phoneset import PHONES
from lmm_apa.data.ipa import ARPABET_TO_IPA, add_ipa, phone_ipa, phones_ipa, word_ipa
from lmm_apa.data.lexicon import canonical_words


def test_the_table_covers_the_39_phones_with_distinct_symbols():
    assert set(ARPABET_TO_IPA) == set(PHONES)
    assert len(set(ARPABET_TO_IPA.values())) == len(PHONES)


@pytest.mark.parametrize(
    ("symbol", "ipa"),
    [("AE1", "ˈæ"), ("EY2", "ˌeɪ"), ("AH0", "ə"), ("AH1", "ˈʌ"), ("AH", "ʌ"), ("ER0", "ɚ"), ("ER1", "ˈɝ"),
     ("R", "ɹ"), ("G", "ɡ"), ("JH", "dʒ"), ("NG", "ŋ"), ("Y", "j"), ("DH", "ð"), ("TH", "θ")],
)  # fmt: skip
def test_phones(symbol, ipa):
    assert phone_ipa(symbol) == ipa


@pytest.mark.parametrize(
    ("phones", "ipa"),
    [
        ("K AH0 L EH1 K T", "kəˈlɛkt"),  # collect: the onset K moves with the stress mark
        ("K AH0 N S T R EY1 N T", "kənˈstɹeɪnt"),  # constraint: STR is an onset, NSTR is not
        ("AH0 T L AE1 N T IH0 K", "ətˈlæntɪk"),  # atlantic: TL is not an English onset
        ("EH1 K S T R AH0", "ˈɛkstɹə"),  # extra: stress on the first syllable
        ("N OW1 T B UH2 K", "ˈnoʊtˌbʊk"),  # notebook: primary and secondary
        ("B AH1 T ER0", "ˈbʌtɚ"),
        ("B EH0 R", "bɛɹ"),  # the corpus lexicon marks monosyllables 0: no mark
    ],
)
def test_words_put_the_stress_mark_before_the_syllable(phones, ipa):
    assert word_ipa(phones.split()) == ipa


def test_not_arpabet_is_refused():
    with pytest.raises(ValueError, match="'Q1' is not a CMU ARPAbet phone"):
        phone_ipa("Q1")


def test_add_ipa_to_a_result_keeps_the_arpabet():
    result = {
        "text": "WE CALL",
        "words": [
            {"text": "WE", "phones": ["W", "IY0"]},
            {"text": "CALL", "phones": ["K", "AO0", "L"], "phones-heard": [None, "UH", None]},
        ],
    }
    add_ipa(result)
    we, call = result["words"]
    assert we["phones"] == ["W", "IY0"] and we["phones-ipa"] == ["w", "i"] and we["ipa"] == "wi"
    assert "phones-heard-ipa" not in we  # no aligner on this word
    assert call["phones-ipa"] == ["k", "ɔ", "l"] and call["phones-heard-ipa"] == [None, "ʊ", None]


def test_every_phone_of_real_sentences_maps():
    for sentence in ("MARK LIVED IN NEW YORK", "LET'S GO TO THE RESTROOM", "THEN HE WENT TO THEME PARK"):
        for _, phones in canonical_words(sentence):
            assert len(phones_ipa(phones)) == len(phones) and word_ipa(phones)
