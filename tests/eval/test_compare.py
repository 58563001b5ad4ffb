"""The paired speaker bootstrap of a difference between two systems on the same recordings."""

import numpy as np

from lmm_apa.data.records import Phone, Utterance, Word
from lmm_apa.eval.compare import paired_differences


def _utts(scores, speakers):
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
            words=[Word(text="A", accuracy=s, stress=10, total=s, phones=[Phone(symbol="AH0", accuracy=2)])],
        )
        for i, (s, spk) in enumerate(zip(scores, speakers, strict=True))
    ]


def test_the_same_predictions_differ_by_nothing_and_better_ones_by_a_positive_interval():
    rng = np.random.default_rng(0)
    gold = rng.integers(2, 11, 60)
    speakers = [f"s{i % 12}" for i in range(60)]
    labels = _utts(gold, speakers)
    noisy = {u.utt_id: u for u in _utts(np.clip(gold + rng.normal(0, 3, 60), 0, 10), speakers)}
    close = {u.utt_id: u for u in _utts(np.clip(gold + rng.normal(0, 0.5, 60), 0, 10), speakers)}

    same = paired_differences(labels, noisy, noisy, n_boot=200)["sentence"]["accuracy"]
    assert same["pcc"] == 0.0 and same["pcc_ci"] == [0.0, 0.0] and same["n"] == 60
    better = paired_differences(labels, noisy, close, n_boot=200)["sentence"]["accuracy"]
    assert better["pcc"] > 0 and better["pcc_ci"][0] > 0 and better["scc_ci"][0] > 0
    # constant labels (completeness, phone accuracy here) are left out: no correlation to compare
    assert "completeness" not in paired_differences(labels, noisy, close, n_boot=20)["sentence"]
