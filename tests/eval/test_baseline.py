import numpy as np
import pytest
from scipy import stats

from lmm_apa.data.records import Phone, Utterance, Word
from lmm_apa.eval.baseline import (
    FEATURE_NAMES,
    BaselinePredictor,
    acoustic_features,
    extract_features,
)

SR = 16000


def _feature(feats, name):
    return feats[FEATURE_NAMES.index(name)]


def test_acoustic_features_find_the_pauses():
    """0.3 s silence, 0.5 s tone, 0.4 s pause, 0.5 s tone, 0.1 s pause, 0.5 s tone, 0.2 s silence."""
    rng = np.random.default_rng(0)
    t = np.arange(int(0.5 * SR)) / SR
    tone = 0.3 * np.sin(2 * np.pi * 220 * t)

    def quiet(s):
        return 1e-4 * rng.normal(size=int(s * SR))

    wave = np.concatenate([quiet(0.3), tone, quiet(0.4), tone, quiet(0.1), tone, quiet(0.2)])
    f = acoustic_features(wave, n_words=3, n_phones=9)
    assert len(f) == len(FEATURE_NAMES)
    assert _feature(f, "log_duration") == pytest.approx(np.log(2.5), abs=1e-3)
    assert _feature(f, "long_pauses") == 1  # the 0.1 s gap is not a long pause
    assert _feature(f, "long_pauses_per_word_gap") == pytest.approx(0.5)
    assert _feature(f, "voiced_seconds") == pytest.approx(1.5, abs=0.08)  # 25 ms frames overlap edges
    assert _feature(f, "pause_ratio") == pytest.approx(0.5 / 2.0, abs=0.03)
    assert _feature(f, "lead_trail_silence") == pytest.approx(0.5, abs=0.05)
    assert _feature(f, "phones_per_voiced_second") == pytest.approx(6.0, abs=0.3)


def _synthetic(n=200, seed=0):
    """Utterances whose sentence accuracy follows feature 0, and word scores a per-word prior."""
    rng = np.random.default_rng(seed)
    feats = rng.normal(size=(n, len(FEATURE_NAMES)))
    utts = []
    for i in range(n):
        acc = float(np.clip(np.round(6 + 1.5 * feats[i, 0] + rng.normal(0, 0.5)), 0, 10))
        words = []
        for text, base in [("EASY", 9.5), ("HARD", 5.0)]:
            wacc = float(np.clip(base + 0.5 * (acc - 6) + rng.normal(0, 0.5), 0, 10))
            words.append(
                Word(
                    text=text,
                    accuracy=wacc,
                    stress=10,
                    total=wacc,
                    phones=[Phone(symbol="AH0", accuracy=min(2.0, wacc / 5))],
                )  # fmt: skip
            )
        utts.append(
            Utterance(
                utt_id=f"u{i:03d}",
                text="EASY HARD",
                speaker=f"s{i % 20}",
                words=words,
                accuracy=acc,
                completeness=10,
                fluency=acc,
                prosodic=acc,
                total=acc,
            )  # fmt: skip
        )
    return utts, feats


def test_reference_predictor_learns_sentence_and_item_levels():
    utts, feats = _synthetic()
    train, dev = utts[:150], utts[150:]
    model = BaselinePredictor().fit(train, feats[:150])
    preds = model.predict([u.unlabelled() for u in dev], feats[150:])
    acc = np.array([u.accuracy for u in dev])
    pacc = np.array([p.accuracy for p in preds])
    assert stats.pearsonr(acc, pacc)[0] > 0.85
    assert all(p.completeness == pytest.approx(10.0) for p in preds)
    # Word prior: HARD is predicted well below EASY, and the sentence shift has a positive slope.
    hard = np.array([p.words[1].accuracy for p in preds])
    easy = np.array([p.words[0].accuracy for p in preds])
    assert (easy - hard).mean() > 3
    assert model.slope_[("word", "accuracy")] > 0.2
    w_true = np.array([u.words[1].accuracy for u in dev])
    assert stats.pearsonr(w_true, hard)[0] > 0.5
    assert all(0 <= p.accuracy <= 2 for u in preds for p in u.phones)


def test_predictions_do_not_depend_on_the_labels_of_what_is_predicted():
    utts, feats = _synthetic()
    model = BaselinePredictor().fit(utts[:150], feats[:150])
    with_labels = model.predict(utts[150:], feats[150:])
    without = model.predict([u.unlabelled() for u in utts[150:]], feats[150:])
    assert [u.to_corpus_dict() for u in with_labels] == [u.to_corpus_dict() for u in without]
    assert utts[0].unlabelled().words[0].accuracy is None and utts[0].unlabelled().accuracy is None


def test_features_of_real_recordings(corpus_dir):
    from lmm_apa.data.speechocean import load_speechocean762

    utts = load_speechocean762(corpus_dir)[:5]
    f = extract_features(utts)
    assert f.shape == (5, len(FEATURE_NAMES)) and np.isfinite(f).all()
    rates = f[:, FEATURE_NAMES.index("phones_per_voiced_second")]
    assert ((rates > 2) & (rates < 25)).all()  # plausible read speech, canonical phones per second
