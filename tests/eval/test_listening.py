"""The listening probes' bookkeeping: which words of a cut recording count as said and unsaid."""

import pytest

from lmm_apa.align.aligner import Alignment, WordAlignment
from lmm_apa.data.records import Phone, Utterance, Word
from lmm_apa.eval.listening import (
    OTHER_SENTENCE,
    OTHER_WORDS,
    SAID,
    UNSAID,
    cut_word_scores,
    other_text_scores,
)


def _pred(accuracies):
    words = [
        Word(text=f"W{i}", accuracy=a, phones=[Phone(symbol="AH0", accuracy=2)])
        for i, a in enumerate(accuracies)
    ]
    return Utterance(utt_id="u", text=" ".join(w.text for w in words), accuracy=4.0, words=words)


def _aligned(spans):
    return Alignment(
        words=[
            WordAlignment(text=f"W{i}", start=s, end=e, omitted=s is None, phones=[], stats={})
            for i, (s, e) in enumerate(spans)
        ]
    )


def test_words_before_the_cut_are_said_after_it_unsaid_and_the_rest_neither():
    # W0 ends before the cut, W1 spans it, W2 starts after it, W3 was omitted in the whole recording
    full = _aligned([(0.1, 0.5), (0.8, 1.2), (1.3, 1.6), (None, None)])
    got = cut_word_scores(_pred([9.0, 5.0, 0.5, 0.0]), full, cut_s=1.0)
    assert got == {SAID: [9.0], UNSAID: [0.5]}
    assert cut_word_scores(_pred([9.0, 5.0, 0.5, 0.0]), full, cut_s=1.2) == {SAID: [9.0, 5.0], UNSAID: [0.5]}


def test_a_prediction_for_other_words_is_refused():
    with pytest.raises(ValueError, match="3 scored words against 4"):
        cut_word_scores(_pred([1.0, 2.0, 3.0]), _aligned([(0, 1)] * 4), cut_s=1.0)


def test_another_texts_scores_are_the_sentence_and_every_word():
    assert other_text_scores(_pred([1.0, 2.0])) == {OTHER_SENTENCE: [4.0], OTHER_WORDS: [1.0, 2.0]}
