"""`lmm-apa evaluate` end to end on real corpus utterances, with predictions made from the labels."""

import json
import re
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from lmm_apa.data.records import SCALES
from lmm_apa.data.splits import load_split
from lmm_apa.eval.predictions import write_predictions
from lmm_apa.eval.report import spread_sample
from lmm_apa.interfaces.cli import main
from lmm_apa.interfaces.cli.app import app

LIMIT = 40


def _noisy(utts, seed=0, drop_words_of=None):
    """Labels + Gaussian noise (clipped to the scales): correlated with the labels, not equal."""
    rng = np.random.default_rng(seed)

    def jitter(value, gran, aspect, sd):
        return float(np.clip(value + rng.normal(0, sd), *SCALES[(gran, aspect)]))

    out = []
    for u in utts:
        d = u.to_corpus_dict()
        for a in ("accuracy", "completeness", "fluency", "prosodic", "total"):
            d[a] = jitter(d[a], "sentence", a, 1.0)
        for w in d["words"]:
            for a in ("accuracy", "stress", "total"):
                w[a] = jitter(w[a], "word", a, 1.5)
            w["phones-accuracy"] = [jitter(x, "phone", "accuracy", 0.3) for x in w["phones-accuracy"]]
        if u.utt_id == drop_words_of:
            d["words"] = d["words"][:1]
        out.append(type(u).from_corpus_dict(d))
    return out


@pytest.fixture(scope="module")
def train_sample(corpus_dir):
    return spread_sample(load_split(corpus_dir, "train"), LIMIT, seed=0)


def test_evaluate_noisy_labels_end_to_end(corpus_dir, train_sample, tmp_path):
    preds = _noisy(train_sample, drop_words_of=train_sample[3].utt_id)
    # One utterance left out, one predicted that is not in the evaluated sample.
    n_words_dropped = len(train_sample[3].words) - 1
    missing_utt = train_sample[0]
    pfile = write_predictions([p for p in preds if p.utt_id != missing_utt.utt_id], tmp_path / "p.jsonl")
    with pfile.open("a") as f:
        f.write(json.dumps({"utt_id": "not-in-split", "text": "HELLO", "accuracy": 5}) + "\n")
    out = tmp_path / "m.json"

    args = ["evaluate", "--data", str(corpus_dir), "--split", "train", "--limit", str(LIMIT)]
    args += ["--predictions", str(pfile), "--metrics-out", str(out), "--n-boot", "200"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "phone" in result.output and "accuracy" in result.output
    assert "1 predicted utterances are not in the evaluated split" in result.output

    m = json.loads(out.read_text())
    assert m["config"]["split"] == "train" and m["config"]["limit"] == LIMIT
    assert m["n_utterances"] == LIMIT and m["n_predicted_utterances"] == LIMIT - 1
    assert m["missing"]["utterances"] == 1
    assert m["missing"]["words"] == len(missing_utt.words) + n_words_dropped
    assert m["extra"]["utterances"] == 1
    for gran, aspect in [("sentence", "accuracy"), ("sentence", "total"), ("word", "accuracy")]:
        cell = m[gran][aspect]
        assert 0.6 < cell["pcc"] < 0.999, (gran, aspect, cell)
        assert cell["pcc_ci"][0] <= cell["pcc"] <= cell["pcc_ci"][1]
    phone = m["phone"]["accuracy"]
    assert phone["n"] == sum(len(u.phones) for u in train_sample) - m["missing"]["phones"]
    assert 0.4 < phone["scc_cap"] < 0.9


def test_dev_split_is_the_speaker_disjoint_dev_part(corpus_dir, tmp_path):
    dev = load_split(corpus_dir, "dev", seed=0)
    rest = load_split(corpus_dir, "train-minus-dev", seed=0)
    assert {u.speaker for u in dev}.isdisjoint({u.speaker for u in rest})
    assert len(dev) + len(rest) == 2500
    pfile = write_predictions(_noisy(dev[:30]), tmp_path / "p.jsonl")
    args = ["evaluate", "--data", str(corpus_dir), "--split", "dev", "--predictions", str(pfile)]
    result = CliRunner().invoke(app, [*args, "--metrics-out", str(tmp_path / "m.json"), "--n-boot", "0"])
    assert result.exit_code == 0, result.output
    m = json.loads((tmp_path / "m.json").read_text())
    assert m["n_utterances"] == len(dev) and m["missing"]["utterances"] == len(dev) - 30
    assert m["sentence"]["accuracy"]["pcc_ci"] is None  # --n-boot 0: no intervals


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--split", "dev", "--limit", "1", "--model", "no-such-model"], "is neither 'default'"),
        (["--predictions", "nope.jsonl"], "predictions file not found"),
        (["--predictions", "x.jsonl", "--split", "valid"], "'valid' is not one of 'test', 'train', 'dev'"),
        (["--split", "dev", "--mode", "fast"], "'fast' is not one of 'onepass', 'twopass', 'generate'"),
        (["--split", "dev", "--dev-fraction", "1"], "1 is not strictly between 0 and 1"),
    ],
)
def test_user_errors_exit_2_with_a_message(corpus_dir, monkeypatch, capsys, extra, message):
    monkeypatch.setattr(sys, "argv", ["lmm-apa", "evaluate", "--data", str(corpus_dir), *extra])
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 2
    err = capsys.readouterr().err
    said = " ".join(re.sub("[│╭╮╰╯─]", " ", err).split())  # out of rich's box, unwrapped
    assert message in said and "Traceback" not in err


def test_other_systems_unclipped_predictions_are_evaluated_as_they_are(corpus_dir, train_sample, tmp_path):
    """A regression's raw output (phone 2.05, word -0.4) is read and counted, not refused or clipped;
    and the table, written to a non-terminal (CliRunner), is whole: nothing cut at 80 columns."""
    lines = [u.to_corpus_dict() for u in _noisy(train_sample)]
    lines[0]["words"][0]["phones-accuracy"][0] = 2.05
    lines[1]["words"][0]["phones-accuracy"][0] = 2.4
    lines[1]["words"][0]["accuracy"] = -0.4
    for d in lines:  # cells that make the table wider than 80 columns (rich cut it to "senten…")
        d.pop("prosodic")  # not predicted: "— no predictions"
        d["fluency"] = 5.0  # "— predictions are constant"
        for w in d["words"]:
            w["total"] = 10 - w["total"]  # "-0.853 [-0.90,-0.70]"
    pfile = tmp_path / "p.jsonl"
    pfile.write_text("".join(json.dumps(d) + "\n" for d in lines))
    args = ["evaluate", "--data", str(corpus_dir), "--split", "train", "--limit", str(LIMIT)]
    args += ["--predictions", str(pfile), "--metrics-out", str(tmp_path / "m.json"), "--n-boot", "50"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    m = json.loads((tmp_path / "m.json").read_text())
    assert m["phone"]["accuracy"]["outside_scale"] == {"below": 0, "above": 2}
    assert m["word"]["accuracy"]["outside_scale"] == {"below": 1, "above": 0}
    assert m["sentence"]["total"]["outside_scale"] == {"below": 0, "above": 0}
    n_phones, n_words = m["phone"]["accuracy"]["n"], m["word"]["accuracy"]["n"]
    out = result.output
    assert "predictions outside the scale (used as they are, not clipped):" in out
    assert f"word accuracy 1 of {n_words} below 0; phone accuracy 2 of {n_phones} above 2" in out  # one line
    table = [line for line in out.splitlines() if line.strip().startswith(("sentence", "word", "phone"))]
    assert len(table) == 9 and max(map(len, table)) > 80 and "…" not in out
    assert "— predictions are constant" in out and "completeness" in out and " -0." in out


@pytest.mark.parametrize(
    ("value", "message"), [("NaN", "total nan is not a finite number"), ('"8"', 'total "8" is not a number')]
)
def test_not_numbers_are_refused(corpus_dir, tmp_path, monkeypatch, capsys, value, message):
    pfile = tmp_path / "p.jsonl"
    pfile.write_text('{"utt_id": "000010011", "text": "WE CALL IT BEAR", "total": ' + value + "}\n")
    argv = ["lmm-apa", "evaluate", "--data", str(corpus_dir), "--split", "train", "--predictions", str(pfile)]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"p.jsonl:1: utterance 000010011: {message}" in err and "Traceback" not in err
