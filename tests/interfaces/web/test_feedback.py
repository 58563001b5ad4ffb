"""Plain-language tips for the weakest words."""

from __future__ import annotations

import pytest

from lmm_apa.data.records import Phone, Utterance, Word
from lmm_apa.interfaces.web.feedback import ARPABET, base_symbol, describe_phone, hints


def word(text: str, total: float, phones: dict[str, float], stress: float = 10.0) -> Word:
    return Word(
        text=text,
        accuracy=total,
        stress=stress,
        total=total,
        phones=[Phone(symbol=s, accuracy=a) for s, a in phones.items()],
    )


def test_every_cmu_phone_has_an_example_word():
    assert len(ARPABET) == 39
    assert describe_phone("EH1") == "the vowel EH (as in 'bed')"
    assert describe_phone("DH") == "the consonant DH (as in 'this')"
    assert describe_phone("ZZ0") == "the sound ZZ"


@pytest.mark.parametrize(("phone", "base"), [("EH1", "EH"), ("ah0", "AH"), ("T_B", "T"), ("AO0_E", "AO")])
def test_base_symbol(phone, base):
    assert base_symbol(phone) == base


def test_hints_pick_the_worst_words_and_their_weak_sounds():
    utt = Utterance(
        utt_id="u",
        text="WE CALL IT BEAR",
        words=[
            word("WE", 9, {"W": 2.0, "IY0": 2.0}),
            word("CALL", 6, {"K": 2.0, "AO0": 1.2, "L": 1.9}),
            word("IT", 10, {"IH0": 2.0, "T": 2.0}),
            word("BEAR", 3, {"B": 1.4, "EH0": 0.4, "R": 0.8}, stress=5),
        ],
    )
    tips = hints(utt)
    assert [t.word for t in tips] == ["BEAR", "CALL"]  # worst first; WE and IT are fine
    assert tips[0].word_index == 3 and tips[0].phones == ["B", "EH0", "R"]
    # The two weakest sounds, worst first, and the stress.
    assert tips[0].message == (
        "Work on BEAR: the vowel EH (as in 'bed') and the consonant R (as in 'red') sounded off; "
        "put the stress on the right syllable."
    )
    assert tips[1].message == "Work on CALL: the vowel AO (as in 'law') sounded off."


def test_a_weak_word_without_weak_sounds_gets_a_general_tip():
    utt = Utterance(utt_id="u", text="IT", words=[word("IT", 4, {"IH0": 1.8, "T": 1.9})])
    assert hints(utt)[0].message == "Work on IT: say it again slowly and clearly, sound by sound."


def test_at_most_three_tips_and_none_for_a_good_reading():
    bad = [word(f"W{i}", i, {"AH0": 0.5}) for i in range(5)]
    assert [t.word for t in hints(Utterance(utt_id="u", text="x", words=bad))] == ["W0", "W1", "W2"]
    good = [word("GOOD", 9, {"G": 2.0, "UH0": 1.8, "D": 1.6})]
    assert hints(Utterance(utt_id="u", text="GOOD", words=good)) == []


def test_words_without_scores_are_skipped():
    utt = Utterance(utt_id="u", text="IT", words=[Word(text="IT", phones=[Phone(symbol="IH0")])])
    assert hints(utt) == []


def aligned_utt() -> Utterance:
    """WE CALL IT BEAR with IT skipped and BEAR's EH heard as AE (a forced aligner's output)."""
    bear = word("BEAR", 5, {"B": 2.0, "EH0": 1.7, "R": 0.9})
    bear = bear.model_copy(update={"error_type": "mispronunciation", "phones_heard": [None, "AE", None]})
    it = word("IT", 9, {"IH0": 2.0, "T": 2.0}).model_copy(update={"error_type": "omission"})
    we = word("WE", 3, {"W": 1.0, "IY0": 2.0})
    return Utterance(utt_id="u", text="WE CALL IT BEAR", words=[we, word("CALL", 9, {"K": 2.0}), it, bear])


def test_a_skipped_word_comes_first_and_says_where_it_goes():
    tips = hints(aligned_utt())
    assert [t.word for t in tips] == ["IT", "WE", "BEAR"]  # skipped first, although scored 9
    assert tips[0].message == "You skipped IT: say it between CALL and BEAR."
    assert tips[0].word_index == 2 and tips[0].phones == []


@pytest.mark.parametrize(("index", "where"), [(0, " before CALL"), (1, " after WE")])
def test_a_skipped_first_or_last_word(index, where):
    words = [word("WE", 9, {"W": 2.0}), word("CALL", 9, {"K": 2.0})]
    words[index] = words[index].model_copy(update={"error_type": "omission"})
    tip = hints(Utterance(utt_id="u", text="WE CALL", words=words))[0]
    assert tip.message == f"You skipped {words[index].text}: say it{where}."


def test_a_heard_phone_is_named_before_the_low_scored_ones():
    tip = hints(aligned_utt())[2]
    # EH scored 1.7 (not weak by score) but was heard as AE: it is named first, with what was heard.
    assert tip.phones == ["EH0", "R"]
    assert tip.message == (
        "Work on BEAR: the vowel EH (as in 'bed') sounded like AE (as in 'cat'); "
        "the consonant R (as in 'red') sounded off."
    )


def test_a_word_marked_mispronounced_gets_a_tip_even_with_a_good_score():
    good = word("GOOD", 9, {"G": 2.0, "UH0": 1.8, "D": 1.9}).model_copy(
        update={"error_type": "mispronunciation", "phones_heard": [None, "UW", None]}
    )
    tips = hints(Utterance(utt_id="u", text="GOOD", words=[good]))
    assert [t.message for t in tips] == [
        "Work on GOOD: the vowel UH (as in 'book') sounded like UW (as in 'too')."
    ]
