"""CTC forced alignment with skippable words, on synthetic posteriors whose answer is known."""

import numpy as np
import pytest

from lmm_apa.align.phoneset import BLANK, N_CLASSES
from lmm_apa.align.viterbi import align_words


def posteriors(frames: list[int], sharp: float = 0.96) -> np.ndarray:
    """Log posteriors where frame t says class frames[t] with probability `sharp`."""
    p = np.full((len(frames), N_CLASSES), (1 - sharp) / (N_CLASSES - 1))
    p[np.arange(len(frames)), frames] = sharp
    return np.log(p)


def test_every_phone_on_its_frames():
    # blank, 5, 5, blank, 7, blank, blank, 9, blank
    logp = posteriors([BLANK, 5, 5, BLANK, 7, BLANK, BLANK, 9, BLANK])
    result = align_words(logp, [[5, 7], [9]], skip_penalty=5.0)
    assert result.skipped == [False, False]
    spans = [(s.first, s.last) for w in result.phones for s in w]
    assert spans == [(1, 2), (4, 4), (7, 7)]


def test_repeated_label_needs_a_blank_between():
    logp = posteriors([BLANK, 5, BLANK, 5, BLANK])
    result = align_words(logp, [[5, 5]], skip_penalty=50.0)
    assert [(s.first, s.last) for s in result.phones[0]] == [(1, 1), (3, 3)]


def test_a_word_not_in_the_audio_is_skipped():
    # the middle word (class 12) never sounds
    logp = posteriors([BLANK, 5, BLANK, BLANK, BLANK, 9, 9, BLANK])
    result = align_words(logp, [[5], [12, 13], [9]], skip_penalty=5.0)
    assert result.skipped == [False, True, False]
    assert result.phones[1] == [None, None]
    assert (result.phones[2][0].first, result.phones[2][0].last) == (5, 6)


def test_words_after_a_cut_are_skipped_even_without_trailing_frames():
    # the recording stops right after the first word: no blank frames left for the others
    logp = posteriors([BLANK, 5, 6])
    result = align_words(logp, [[5, 6], [7, 8], [9]], skip_penalty=3.0)
    assert result.skipped == [False, True, True]


def test_leading_words_can_be_skipped():
    logp = posteriors([BLANK, 9, 9, BLANK])
    result = align_words(logp, [[5], [6], [9]], skip_penalty=3.0)
    assert result.skipped == [True, True, False]


def test_a_high_penalty_forces_every_word_in():
    logp = posteriors([BLANK, 5, BLANK, BLANK, BLANK, 9, BLANK])
    result = align_words(logp, [[5], [12], [9]], skip_penalty=1e6)
    assert result.skipped == [False, False, False]
    starts = [w[0].first for w in result.phones]
    assert starts == sorted(starts) and len(set(starts)) == 3


def test_path_score_counts_the_penalty():
    logp = posteriors([BLANK, 5, BLANK])
    with_skip = align_words(logp, [[5], [12]], skip_penalty=2.0)
    assert with_skip.skipped == [False, True]
    expected = logp[0, BLANK] + logp[1, 5] + logp[2, BLANK] - 2.0
    assert with_skip.score == pytest.approx(expected)


def test_rejects_a_word_without_phones():
    with pytest.raises(ValueError):
        align_words(posteriors([BLANK, 5]), [[5], []], skip_penalty=1.0)
