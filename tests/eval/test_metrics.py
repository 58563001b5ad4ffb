import numpy as np
import pytest
from scipy import stats

from lmm_apa.data.records import Phone, Utterance, Word
from lmm_apa.eval.metrics import (
    Pairs,
    aspect_metrics,
    bootstrap_stats,
    compute_metrics,
    pair_scores,
    scc_cap,
    speaker_bootstrap_ci,
)


def _pairs(y, p, clusters=None) -> Pairs:
    clusters = clusters if clusters is not None else [f"s{i % 7}" for i in range(len(y))]
    return Pairs(list(map(float, y)), list(map(float, p)), list(clusters))


def _utt(uid, spk, acc, words, **sent) -> Utterance:
    """words: list of (text, accuracy, [phone accuracies])."""
    return Utterance(
        utt_id=uid,
        text=" ".join(w[0] for w in words),
        speaker=spk,
        accuracy=acc,
        **sent,
        words=[
            Word(text=t, accuracy=a, phones=[Phone(symbol=f"P{i}", accuracy=pa) for i, pa in enumerate(ph)])
            for t, a, ph in words
        ],
    )


def test_point_metrics_match_scipy_on_random_data():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 11, 300).astype(float)
    p = np.clip(y + rng.normal(0, 2, 300), 0, 10)
    m = aspect_metrics(_pairs(y, p), n_boot=50)
    assert m["n"] == 300
    assert m["pcc"] == pytest.approx(stats.pearsonr(y, p)[0], abs=1e-12)
    assert m["scc"] == pytest.approx(stats.spearmanr(y, p)[0], abs=1e-12)
    assert m["rmse"] == pytest.approx(np.sqrt(np.mean((y - p) ** 2)))
    assert 0.5 < m["pcc"] < 1.0
    assert m["scc_of_cap"] == pytest.approx(m["scc"] / m["scc_cap"])


@pytest.mark.parametrize(
    ("y", "p", "reason"),
    [
        ([5, 5, 5, 5], [1, 2, 3, 4], "labels are constant"),
        ([1, 2, 3, 4], [7, 7, 7, 7], "predictions are constant"),
        ([1, 2], [1, 2], "fewer than 3 pairs"),
        ([], [], "no predictions"),
    ],
)
def test_undefined_correlations_are_null_with_a_reason(y, p, reason):
    m = aspect_metrics(_pairs(y, p), n_boot=20)
    assert m["pcc"] is None and m["scc"] is None and m["pcc_ci"] is None
    assert m["reason"] == reason
    if y:
        assert m["rmse"] == pytest.approx(np.sqrt(np.mean((np.array(y) - np.array(p)) ** 2)))


def test_bootstrap_equals_replicating_the_drawn_speakers():
    """Weighted (vectorised) resample statistics == scipy on the explicitly replicated sample."""
    rng = np.random.default_rng(3)
    n, k = 120, 8
    clusters = rng.integers(0, k, n)
    y = rng.integers(0, 4, n).astype(float)  # heavy ties on the label side
    p = y + rng.normal(0, 1, n)
    p[:15] = p[0]  # and some on the prediction side
    counts = rng.multinomial(k, np.full(k, 1 / k), size=6)
    pcc, scc = bootstrap_stats(y, p, clusters, counts)
    for b in range(len(counts)):
        idx = np.concatenate([np.tile(np.flatnonzero(clusters == c), counts[b, c]) for c in range(k)])
        assert pcc[b] == pytest.approx(stats.pearsonr(y[idx], p[idx])[0], abs=1e-10)
        assert scc[b] == pytest.approx(stats.spearmanr(y[idx], p[idx])[0], abs=1e-10)


def test_bootstrap_ci_contains_point_and_is_reproducible():
    rng = np.random.default_rng(1)
    n = 400
    clusters = [f"spk{i % 20}" for i in range(n)]
    y = rng.integers(0, 11, n).astype(float)
    p = y + rng.normal(0, 2.5, n)
    ci1 = speaker_bootstrap_ci(y, p, clusters, n_boot=300, seed=7)
    ci2 = speaker_bootstrap_ci(y, p, clusters, n_boot=300, seed=7)
    ci3 = speaker_bootstrap_ci(y, p, clusters, n_boot=300, seed=8)
    assert ci1 == ci2
    assert ci1 != ci3
    (plo, phi), (slo, shi) = ci1
    assert plo < stats.pearsonr(y, p)[0] < phi
    assert slo < stats.spearmanr(y, p)[0] < shi
    assert phi - plo < 0.3


def test_bootstrap_ci_is_wider_when_errors_cluster_by_speaker():
    """A per-speaker offset makes items of a speaker move together: resampling speakers sees it."""
    rng = np.random.default_rng(2)
    n, k = 600, 15
    spk = np.arange(n) % k
    y = rng.normal(5, 2, n)
    p_indep = y + rng.normal(0, 1.5, n)
    p_clustered = y + rng.normal(0, 1.5, k)[spk]
    clusters = [f"s{s}" for s in spk]
    w_indep = np.diff(speaker_bootstrap_ci(y, p_indep, clusters, n_boot=300)[0])[0]
    w_clust = np.diff(speaker_bootstrap_ci(y, p_clustered, clusters, n_boot=300)[0])[0]
    assert w_clust > 1.5 * w_indep


def test_scc_cap_hand_example():
    """labels [1, 2, 2, 2]: average ranks [1, 3, 3, 3], ordinal ranks [1, 2, 3, 4].

    Pearson of those: centred avg [-1.5, .5, .5, .5], centred ordinal [-1.5, -.5, .5, 1.5];
    cov sum = 2.25 - .25 + .25 + .75 = 3; var sums 3 and 5; r = 3 / sqrt(15) = 0.7746.
    """
    assert scc_cap(np.array([1.0, 2, 2, 2])) == pytest.approx(3 / np.sqrt(15))
    assert scc_cap(np.array([1.0, 2, 3, 4])) == pytest.approx(1.0)
    assert scc_cap(np.array([2.0, 2, 2])) is None


def test_scc_cap_matches_a_jittered_perfect_predictor():
    rng = np.random.default_rng(5)
    y = np.where(rng.uniform(size=2000) < 0.8, 2.0, rng.choice([0.0, 0.4, 1.0, 1.6], 2000))
    jittered = y + rng.uniform(0, 1e-6, len(y))
    assert scc_cap(y) == pytest.approx(stats.spearmanr(y, jittered)[0], abs=1e-9)
    assert scc_cap(y) < 0.8


def test_pairing_counts_missing_and_extra():
    labels = [
        _utt("u1", "A", 8, [("WE", 10, [2.0, 2.0]), ("CALL", 6, [2.0, 1.0, 1.0])]),
        _utt("u2", "A", 5, [("IT", 4, [1.0, 0.5])]),
        _utt("u3", "B", 9, [("BEAR", 10, [2.0])]),
    ]
    preds = {
        # one word short, and the first word's second phone left out
        "u1": _utt("u1", None, 7, [("WE", 9, [1.8])]),
        # one extra word; sentence accuracy not predicted
        "u2": _utt("u2", None, None, [("it", 5, [1.0, 1.0]), ("EXTRA", 1, [])]),
        "zzz": _utt("zzz", None, 3, []),
    }
    pairs, book = pair_scores(labels, preds)
    assert book["missing"]["utterances"] == 1  # u3
    assert book["missing"]["words"] == 2  # u1's CALL, u3's BEAR
    assert book["missing"]["phones"] == 1 + 3 + 1  # u1 WE's 2nd, u1 CALL's 3, u3 BEAR's 1
    assert book["missing"]["fields"]["sentence.accuracy"] == 2  # u2 not predicted, u3 missing
    assert book["missing"]["fields"]["word.stress"] == 0  # labels have no stress here
    assert book["extra"] == {"utterances": 1, "words": 1, "phones": 0}
    assert book["mismatched_words"] == 0  # "it" vs "IT" is the same word
    assert pairs[("sentence", "accuracy")].labels == [8.0]
    assert pairs[("word", "accuracy")].labels == [10.0, 4.0]
    assert pairs[("word", "accuracy")].preds == [9.0, 5.0]
    assert pairs[("phone", "accuracy")].preds == [1.8, 1.0, 1.0]
    assert pairs[("phone", "accuracy")].clusters == ["A", "A", "A"]


def test_compute_metrics_shape_and_perfect_predictor():
    rng = np.random.default_rng(0)
    labels = []
    for i in range(30):
        words = [(f"W{j}", int(rng.integers(0, 11)), list(rng.choice([0.0, 1.0, 2.0], 3))) for j in range(4)]
        labels.append(_utt(f"u{i:02d}", f"s{i % 6}", int(rng.integers(0, 11)), words, total=float(i % 11)))
    m = compute_metrics(labels, {u.utt_id: u for u in labels}, n_boot=50)
    assert set(m) >= {"sentence", "word", "phone", "n_utterances", "missing", "extra"}
    assert m["n_utterances"] == 30
    assert m["sentence"]["accuracy"]["pcc"] == pytest.approx(1.0)
    assert m["sentence"]["accuracy"]["rmse"] == 0.0
    assert m["phone"]["accuracy"]["n"] == 30 * 4 * 3
    assert m["phone"]["accuracy"]["scc"] == pytest.approx(1.0)  # ties reproduced: beyond the cap
    assert m["phone"]["accuracy"]["scc_cap"] < 1.0
    assert m["word"]["stress"]["reason"] == "no predictions"
    assert m["sentence"]["fluency"]["n"] == 0
