import pytest

from lmm_apa.errors import LexiconError
from lmm_apa.infer.reference import reference_utterance


def test_the_reference_has_canonical_phones_and_no_scores():
    ref = reference_utterance("We call it bear.", "mine")
    assert ref.utt_id == "mine"
    assert ref.text == "WE CALL IT BEAR"
    assert [w.text for w in ref.words] == ["WE", "CALL", "IT", "BEAR"]
    assert [p.symbol.rstrip("012") for p in ref.words[2].phones] == ["IH", "T"]
    assert all(w.accuracy is None and all(p.accuracy is None for p in w.phones) for w in ref.words)
    assert ref.accuracy is None and ref.total is None


def test_a_word_outside_the_lexicon_still_gets_phones():
    ref = reference_utterance("zorbleflap")
    assert len(ref.words) == 1 and ref.words[0].phones


@pytest.mark.parametrize("text", ["", "  ", "?!"])
def test_a_text_without_words_is_a_lexicon_error(text):
    with pytest.raises(LexiconError, match="no words to score"):
        reference_utterance(text)
