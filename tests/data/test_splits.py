import random

import pytest

from lmm_apa.data.records import Utterance
from lmm_apa.data.speechocean import load_speechocean762
from lmm_apa.data.splits import age_group, train_dev_split
from lmm_apa.errors import DataError


def _corpus_like(n_children: int = 58, n_adults: int = 67, per_speaker: int = 20) -> list[Utterance]:
    """Speechocean762's train shape: 58 child and 67 adult speakers, 20 utterances each."""
    utts = []
    for s in range(n_children + n_adults):
        age = 6 + s % 10 if s < n_children else 20 + s % 15
        utts += [
            Utterance(utt_id=f"{s:04d}{i:04d}", text="HI", speaker=f"{s:04d}", age=age)
            for i in range(per_speaker)
        ]
    return utts


def _check(train, dev, utts, fraction=0.1):
    assert {u.speaker for u in train}.isdisjoint({u.speaker for u in dev})
    assert sorted(u.utt_id for u in train + dev) == sorted(u.utt_id for u in utts)
    assert abs(len(dev) / len(utts) - fraction) < 0.02
    share = sum(age_group(u.age) == "child" for u in dev) / len(dev)
    corpus_share = sum(age_group(u.age) == "child" for u in utts) / len(utts)
    assert abs(share - corpus_share) < 0.1, (share, corpus_share)


def test_speaker_disjoint_stratified_and_sized():
    utts = _corpus_like()
    train, dev = train_dev_split(utts)
    _check(train, dev, utts)
    assert len(dev) == 260  # 6 of 58 child speakers + 7 of 67 adults, 20 utterances each


def test_reproducible_by_seed_and_independent_of_input_order():
    utts = _corpus_like()
    _, dev = train_dev_split(utts, seed=3)
    shuffled = utts[:]
    random.Random(1).shuffle(shuffled)
    _, dev_again = train_dev_split(shuffled, seed=3)
    assert {u.utt_id for u in dev} == {u.utt_id for u in dev_again}
    _, other = train_dev_split(utts, seed=4)
    assert {u.speaker for u in other} != {u.speaker for u in dev}


def test_other_fractions_and_bad_input():
    utts = _corpus_like()
    train, dev = train_dev_split(utts, dev_fraction=0.2)
    _check(train, dev, utts, 0.2)
    with pytest.raises(ValueError, match="dev_fraction"):
        train_dev_split(utts, dev_fraction=1.0)
    with pytest.raises(DataError, match="has no speaker"):
        train_dev_split([Utterance(utt_id="x", text="HI")])
    with pytest.raises(DataError, match="at least 2 speakers"):
        train_dev_split(_corpus_like(1, 0))


def test_on_the_real_corpus(corpus_dir):
    utts = load_speechocean762(corpus_dir)
    train, dev = train_dev_split(utts)
    _check(train, dev, utts)
    assert {age_group(u.age) for u in dev} == {"child", "adult"}


def test_speaker_folds_disjoint_balanced_and_reproducible():
    from lmm_apa.data.splits import speaker_folds

    utts = _corpus_like()
    folds = speaker_folds(utts, k=5, seed=0)
    assert sorted(u.utt_id for f in folds for u in f) == sorted(u.utt_id for u in utts)
    speakers = [{u.speaker for u in f} for f in folds]
    assert [len(s) for s in speakers] == [25] * 5  # 125 speakers dealt round robin
    assert all(a.isdisjoint(b) for i, a in enumerate(speakers) for b in speakers[i + 1 :])
    shuffled = utts[:]
    random.Random(1).shuffle(shuffled)
    assert [{u.speaker for u in f} for f in speaker_folds(shuffled, k=5, seed=0)] == speakers
    assert [{u.speaker for u in f} for f in speaker_folds(utts, k=5, seed=1)] != speakers
    assert [len({u.speaker for u in f}) for f in speaker_folds(utts[: 7 * 20], k=3)] == [3, 2, 2]
    with pytest.raises(DataError):
        speaker_folds(utts[:40], k=3)  # two speakers, three folds
