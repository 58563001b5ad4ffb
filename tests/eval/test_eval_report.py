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
