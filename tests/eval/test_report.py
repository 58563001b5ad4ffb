import io
import json

import numpy as np
import pytest
from rich.console import Console

from lmm_apa.data.records import Phone, Utterance, Word
from lmm_apa.eval.report import evaluate_predictions, print_metrics_table, spread_sample, write_metrics


def _utts(n_speakers=5, per_speaker=4):
    rng = np.random.default_rng(0)
    return [
        Utterance(
            utt_id=f"{s:02d}{i:02d}",
            text="HI",
            speaker=f"spk{s}",
            accuracy=int(rng.integers(0, 11)),
            words=[
                Word(text="HI", accuracy=int(rng.integers(0, 11)), phones=[Phone(symbol="HH", accuracy=2.0)])
            ],
        )
        for s in range(n_speakers)
        for i in range(per_speaker)
    ]


def test_spread_sample_is_deterministic_and_covers_speakers():
    utts = _utts()
    a = spread_sample(utts, 7, seed=0)
    assert [u.utt_id for u in a] == [u.utt_id for u in spread_sample(list(reversed(utts)), 7, seed=0)]
    assert [u.utt_id for u in a] == sorted(u.utt_id for u in a)
    counts = np.bincount([int(u.speaker[3:]) for u in a], minlength=5)
    assert counts.min() >= 1 and counts.max() <= 2  # one per speaker per round
    assert {u.utt_id for u in spread_sample(utts, 7, seed=1)} != {u.utt_id for u in a}
    assert len(spread_sample(utts, 100)) == len(utts)


def test_evaluate_predictions_table_and_json(tmp_path):
    labels = _utts()
    preds = {u.utt_id: u for u in labels[:-2]}
    m = evaluate_predictions(labels, preds, n_boot=50, config={"split": "dev"}, parse_failures=3)
    assert m["config"] == {"split": "dev", "n_boot": 50, "bootstrap_seed": 0}
    assert m["parse_failures"] == 3 and m["missing"]["utterances"] == 2
    assert m["sentence"]["accuracy"]["pcc"] == pytest.approx(1.0)
    assert m["phone"]["accuracy"]["reason"] == "labels are constant"
    path = write_metrics(m, tmp_path / "out" / "metrics.json")
    assert json.loads(path.read_text()) == m

    buf = io.StringIO()
    print_metrics_table(m, console=Console(file=buf, width=100))
    text = buf.getvalue()
    assert "20 utterances" in text
    assert "labels are constant" in text
    assert "missing predictions: 2 utterances, 2 words, 2 phones" in text
    assert "parse failures: 3" in text
    assert text.count("sentence") == 5 and text.count("word ") >= 3


def test_predictions_outside_the_scale_are_counted_and_used_unclipped():
    """Phone 2.05 (x3) and -0.1 against labels of 2, word accuracy 10.5 (x2): counted per
    granularity/aspect, and the metrics use them as they are (phone RMSE by hand:
    sqrt((3 * 0.05^2 + 2.1^2) / 20))."""
    from lmm_apa.data.records import any_finite_scores

    labels = _utts()
    preds = {}
    with any_finite_scores():
        for k, u in enumerate(labels):
            w = u.words[0]
            phone = 2.05 if k < 3 else (-0.1 if k == 3 else 2.0)
            acc = 10.5 if k in (4, 5) else w.accuracy
            word = Word(text="HI", accuracy=acc, phones=[Phone(symbol="HH", accuracy=phone)])
            preds[u.utt_id] = u.model_copy(update={"words": [word]})
    m = evaluate_predictions(labels, preds, n_boot=0)
    assert m["phone"]["accuracy"]["outside_scale"] == {"below": 1, "above": 3}
    assert m["word"]["accuracy"]["outside_scale"] == {"below": 0, "above": 2}
    assert m["sentence"]["accuracy"]["outside_scale"] == {"below": 0, "above": 0}
    # Not clipped: the phone errors are 0.05 (x3) and 2.1.
    assert m["phone"]["accuracy"]["rmse"] == pytest.approx(np.sqrt((3 * 0.05**2 + 2.1**2) / 20))
    word_err = [10.5 - u.words[0].accuracy for u in labels[4:6]]
    assert m["word"]["accuracy"]["rmse"] == pytest.approx(np.sqrt(sum(e * e for e in word_err) / 20))

    buf = io.StringIO()
    print_metrics_table(m, console=Console(file=buf, width=200))
    text = buf.getvalue()
    assert "predictions outside the scale (used as they are, not clipped):" in text
    assert "word accuracy 2 of 20 above 10" in text
    assert "phone accuracy 1 of 20 below 0; phone accuracy 3 of 20 above 2" in text
