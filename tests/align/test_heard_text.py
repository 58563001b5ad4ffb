"""`align.heard_text`: the Whisper decoder's probabilities of the reference text's words, as evidence."""

import numpy as np
import pytest

from lmm_apa.align.aligner import Alignment, PhoneAlignment, WordAlignment
from lmm_apa.align.heard_text import UNHEARD, decoder_features, text_features


def test_features_per_word_phone_and_utterance_from_token_logprobs():
    logprobs = [np.array([-0.1, -0.3]), np.array([-4.0]), np.array([-0.2, -2.0, -0.5])]
    phone, word, utt = text_features(logprobs, [2, 1, 3])
    assert word.shape == (3, 3) and phone.shape == (6, 2) and utt.shape == (4,)
    np.testing.assert_allclose(word[0], [-0.2, -0.3, -0.1], rtol=1e-6)  # mean, lowest, first
    np.testing.assert_allclose(word[2], [-0.9, -2.0, -0.2], rtol=1e-6)
    np.testing.assert_allclose(phone[:2], [word[0, :2]] * 2)  # each phone carries its word's
    np.testing.assert_allclose(phone[3:], [word[2, :2]] * 3)
    assert utt[0] == pytest.approx(np.mean([-0.1, -0.3, -4.0, -0.2, -2.0, -0.5]))
    assert utt[2] == pytest.approx(-4.0) and utt[3] == pytest.approx(1 / 3)  # one word under log(0.1)
    assert UNHEARD == pytest.approx(np.log(0.1))


def _alignment(words: list[str]) -> Alignment:
    ph = PhoneAlignment("AH", 0.0, 0.1, None, {}, np.zeros(39), np.zeros(4), np.zeros(4))
    return Alignment([WordAlignment(w, 0.0, 0.1, False, [ph, ph], {}) for w in words])


def test_the_decoder_hears_the_text_that_was_read_and_not_another(corpus_dir, monkeypatch, tmp_path):
    """A corpus recording against its own text and another sentence's: the decoder finds the words
    that were said far more probable (measured: mean token log-probability -1.1 against -8.4), and a
    disk cache gives back the same features."""
    from lmm_apa.data.speechocean import load_speechocean762

    monkeypatch.setenv("LMM_APA_HEARD_TEXT_CACHE", str(tmp_path))
    u, other = load_speechocean762(corpus_dir, split="train")[:2]
    assert u.text != other.text
    own = decoder_features(_alignment([w.text for w in u.words]), u)
    wrong = decoder_features(_alignment([w.text for w in other.words]), u)
    assert own[1].shape == (len(u.words), 3) and own[0].shape == (2 * len(u.words), 2)
    assert own[2][0] > -2.5 and wrong[2][0] < own[2][0] - 3.0
    assert wrong[2][3] > own[2][3]  # more of the other sentence's words unheard
    assert len(list(tmp_path.glob("*.npz"))) == 2
    from lmm_apa.align import heard_text

    heard_text._logprobs_of.cache_clear()  # from disk now
    again = decoder_features(_alignment([w.text for w in u.words]), u)
    for a, b in zip(own, again, strict=True):
        np.testing.assert_allclose(a, b)
