"""Choosing the LMM's share per level on half the speakers and reporting it on the other half."""

import numpy as np
import pytest

from lmm_apa.data.records import Phone, Utterance, Word
from lmm_apa.errors import DataError
from lmm_apa.eval.share import GRID, choose_shares, split_speakers


def _utts(sentence, word, speakers, ids=None):
    """One word of one phone each; sentence scores ``sentence``, word scores ``word``, phone 2."""
    return [
        Utterance(
            utt_id=f"u{i}",
            text="A",
            speaker=spk,
            accuracy=s,
            completeness=10,
            fluency=s,
            prosodic=s,
            total=s,
            words=[Word(text="A", accuracy=w, stress=w, total=w, phones=[Phone(symbol="AH0", accuracy=2)])],
        )
        for i, (s, w, spk) in enumerate(zip(sentence, word, speakers, strict=True))
    ]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    n = 400
    speakers = [f"s{i % 20}" for i in range(n)]
    y_s, y_w = rng.uniform(2, 10, n), rng.uniform(2, 10, n)
    labels = _utts(y_s, y_w, speakers)
    # sentence: the two equally noisy and independent, so half of each is best; word: the LMM's
    # noise is 4x the readout's, so the readout should get almost all of it
    noisy = lambda y, sd: np.clip(y + rng.normal(0, sd, n), 0, 10)  # noqa: E731
    lmm = _utts(noisy(y_s, 1), noisy(y_w, 2), speakers)
    ev = _utts(noisy(y_s, 1), noisy(y_w, 0.5), speakers)
    return labels, {u.utt_id: u for u in lmm}, {u.utt_id: u for u in ev}


def test_the_share_is_chosen_where_the_blend_is_best_and_reported_on_other_speakers(data):
    labels, lmm, ev = data
    r = choose_shares(labels, lmm, ev, seed=0)
    assert r["speakers"] == {"choose": 10, "report": 10} and sum(r["utterances"].values()) == 400
    sentence, word, phone = (r["levels"][g] for g in ("sentence", "word", "phone"))
    assert 0.35 <= sentence["share"] <= 0.65 and word["share"] <= 0.15
    assert sentence["aspects"] == ["accuracy", "fluency", "prosodic", "total"]  # not completeness
    rep = sentence["report_pcc"]
    assert rep["chosen"] > max(rep["lmm"], rep["readout"])
    assert word["report_pcc"]["chosen"] >= word["report_pcc"]["lmm"]
    # constant phone labels: nothing to correlate, the readout keeps the level
    assert phone["share"] == 0.0 and phone["aspects"] == []


def test_the_halves_hold_different_speakers_and_the_seed_picks_them():
    speakers = [f"s{i % 6}" for i in range(12)]
    labels = _utts([5] * 12, [5] * 12, speakers)
    a, b = split_speakers(labels, seed=0)
    assert not {u.speaker for u in a} & {u.speaker for u in b} and len(a) + len(b) == 12
    assert split_speakers(labels, seed=0) == (a, b)
    assert any(split_speakers(labels, seed=s)[0] != a for s in range(1, 6))
    with pytest.raises(DataError, match="at least 4"):
        split_speakers(labels[:3])


def test_a_level_the_lmm_did_not_score_stays_with_the_readout(data):
    labels, lmm, ev = data
    unread = {"accuracy": None, "stress": None, "total": None}
    no_words = {
        k: u.model_copy(update={"words": [w.model_copy(update=unread) for w in u.words]})
        for k, u in lmm.items()
    }
    r = choose_shares(labels, no_words, ev)
    assert r["levels"]["word"]["share"] == 0.0 and "no scores of both" in r["levels"]["word"]["note"]
    assert r["levels"]["sentence"]["share"] in GRID
