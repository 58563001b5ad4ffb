"""The evidence scorer fitted on alignments of posteriors written here: clear phones scored as right,
phones the recogniser hears as another as wrong."""

import numpy as np
import pytest

from lmm_apa.align.aligner import align_posteriors
from lmm_apa.align.evidence_scorer import HEARD_BELOW, MISPRONUNCIATION_BELOW, OMITTED_STRESS, EvidenceScorer
from lmm_apa.align.phoneset import BLANK, N_CLASSES, phone_id
from lmm_apa.data.records import Phone, Utterance, Word

WORDS = [("SEE", ["S", "IY"]), ("YOU", ["Y", "UW"])]
HEARD_AS = {"S": "SH", "IY": "IH", "Y": "JH", "UW": "UH"}


def _example(rng, good: list[bool], said: bool = True):
    """(labelled utterance, alignment): a word said well is spelled by the posteriors, a word said
    badly is heard as other phones."""
    rows, words = [], []
    for (text, phones), ok in zip(WORDS, good, strict=True):
        rows += [BLANK] * int(rng.integers(3, 6))
        for p in phones if (said or text == "SEE") else []:
            rows += [phone_id(p if ok else HEARD_AS[p])] * int(rng.integers(3, 7))
        acc = 2.0 if ok else 0.0
        words.append(
            Word(
                text=text,
                accuracy=9.0 if ok else 3.0,
                stress=10.0,
                total=9.0 if ok else 3.0,
                phones=[Phone(symbol=p, accuracy=acc) for p in phones],
            )
        )
    rows += [BLANK] * 4
    logp = np.full((len(rows), N_CLASSES), np.log(0.05 / (N_CLASSES - 1)))
    logp[np.arange(len(rows)), rows] = np.log(0.95)
    logp += rng.normal(scale=0.05, size=logp.shape)
    score = 9.0 * np.mean(good) + 1.0
    utt = Utterance(
        utt_id="u",
        text="SEE YOU",
        words=words,
        accuracy=score,
        fluency=score,
        prosodic=score,
        total=score,
        completeness=10.0,
    )
    hidden, frames = rng.normal(size=(len(rows), 4)), rng.normal(size=(len(rows), 3)).astype(np.float32)
    return utt, align_posteriors(logp, hidden, frames, utt)


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    data = [_example(rng, [bool(a), bool(b)]) for a, b in rng.integers(0, 2, size=(40, 2))]
    utts, alignments = zip(*data, strict=True)
    return EvidenceScorer().fit(list(utts), list(alignments)), rng


def test_phones_heard_as_written_score_above_phones_heard_as_others(fitted):
    scorer, rng = fitted
    utt, al = _example(rng, [True, False])
    pred = scorer.predict(utt, al)
    see, you = pred.words
    assert min(p.accuracy for p in see.phones) > max(p.accuracy for p in you.phones)
    assert see.accuracy > you.accuracy
    assert all(0.0 <= p.accuracy <= 2.0 for p in see.phones + you.phones)
    assert pred.completeness == 10.0 and 0.0 <= pred.total <= 10.0
    good, _ = _example(rng, [True, True])
    assert scorer.predict(good, _example(rng, [True, True])[1]).total > pred.total


def test_an_omitted_word_scores_zero_and_caps_the_sentence(fitted):
    scorer, rng = fitted
    utt, al = _example(rng, [True, True], said=False)
    assert [w.omitted for w in al.words] == [False, True]
    pred = scorer.predict(utt, al)
    you = pred.words[1]
    assert (you.accuracy, you.stress, you.total) == (0.0, OMITTED_STRESS, 0.0)
    assert all(p.accuracy == 0.0 for p in you.phones)
    assert pred.completeness == 5.0
    assert pred.total <= 5.0 and pred.accuracy <= 5.0
    assert EvidenceScorer.error_type(al.words[1], 9.0) == "omission"


def test_error_type_and_heard_phone_follow_the_thresholds(fitted):
    _, rng = fitted
    _, al = _example(rng, [False, True])
    word, phone = al.words[0], al.words[0].phones[0]
    assert EvidenceScorer.error_type(word, MISPRONUNCIATION_BELOW - 0.1) == "mispronunciation"
    assert EvidenceScorer.error_type(word, MISPRONUNCIATION_BELOW) == "none"
    assert phone.rival == "SH"
    assert EvidenceScorer.heard_phone(phone, HEARD_BELOW - 0.5) == "SH"
    assert EvidenceScorer.heard_phone(phone, HEARD_BELOW) is None
    assert EvidenceScorer.heard_phone(phone, None) is None


def test_save_and_load_give_the_same_scores(fitted, tmp_path):
    scorer, rng = fitted
    scorer.save(tmp_path, note="test")
    loaded = EvidenceScorer.load(tmp_path)
    utt, al = _example(rng, [False, True])
    a, b = scorer.predict(utt, al), loaded.predict(utt, al)
    assert [p.accuracy for p in a.phones] == pytest.approx([p.accuracy for p in b.phones], abs=1e-5)
    assert a.total == pytest.approx(b.total, abs=1e-4)


def test_extra_features_hook_widens_each_levels_rows_and_is_needed_to_predict():
    rng = np.random.default_rng(1)
    data = [_example(rng, [bool(a), bool(b)]) for a, b in rng.integers(0, 2, size=(30, 2))]
    utts, alignments = (list(x) for x in zip(*data, strict=True))
    seen = []

    def hook(al, utt):
        seen.append(utt.utt_id)
        n_phones = sum(len(w.phones) for w in al.words)
        return np.ones((n_phones, 2)), np.ones((len(al.words), 3)), np.ones(4)

    plain = EvidenceScorer().fit(utts, alignments)
    extra = EvidenceScorer(extra_features=hook).fit(utts, alignments)
    for level, width in (("phone", 2), ("word", 3), ("sentence", 4)):
        assert len(extra.scalers[level].mean) == len(plain.scalers[level].mean) + width
    assert len(seen) == len(utts)  # once per training utterance, reused by all three levels
    pred = extra.predict(utts[0].unlabelled(), alignments[0])
    assert [w.text for w in pred.words] == ["SEE", "YOU"] and 0 <= pred.total <= 10
    with pytest.raises(ValueError, match="extra"):
        extra.predict_phones(alignments[0])


def test_hooks_concatenated_give_both_columns_level_by_level():
    from lmm_apa.align.evidence_scorer import concat_features

    rng = np.random.default_rng(2)
    utt, al = _example(rng, [True, False])
    n_phones = sum(len(w.phones) for w in al.words)

    def ones(al, utt):
        return np.ones((n_phones, 2)), np.ones((len(al.words), 1)), np.ones(3)

    def twos(al, utt):
        return np.full((n_phones, 1), 2.0), np.full((len(al.words), 2), 2.0), np.full(1, 2.0)

    both = concat_features(ones, twos)
    phone, word, sentence = both(al, utt)
    assert phone.shape == (n_phones, 3) and word.shape == (2, 3) and sentence.shape == (4,)
    np.testing.assert_array_equal(word[0], [1, 2, 2])
    np.testing.assert_array_equal(sentence, [1, 1, 1, 2])
    assert both.__name__ == "ones+twos"
