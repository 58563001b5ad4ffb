"""`lmm-apa align train-head` and `lmm-apa align fit-readout` on a handful of real recordings: the
head trains and is written, the readout is fit on its alignments, saved, loads back, and is
measured on the held-out split (metrics and listening checks in the report)."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from lmm_apa.interfaces.cli.app import app


def _said(output: str) -> str:
    return " ".join(re.sub("[│╭╮╰╯─]", " ", output).split())  # out of rich's box, unwrapped


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train-head", "--data", "d", "--out", "o", "--split", "test"], "'test' is not one of"),
        (["train-head", "--data", "d", "--out", "o", "--epochs", "0"], "greater than or equal to 1"),
        (["train-head", "--data", "d", "--out", "o", "--lr", "0"], "0 is not above 0"),
        (["fit-readout", "--data", "d"], "Missing option '--out'"),
        (["train-head", "--data", "d", "--out", "o", "--augment-share", "1.5"], "less than or equal to 1"),
        (
            ["fit-readout", "--data", "d", "--out", "o", "--augment-copies", "-1"],
            "greater than or equal to 0",
        ),
        (["tune-encoder", "--data", "d", "--out", "o", "--crop-share", "2"], "less than or equal to 1"),
        (["tune-encoder", "--data", "d", "--out", "o", "--kl-weight", "-1"], "greater than or equal to 0"),
    ],
)
def test_bad_arguments_are_refused_before_anything_runs(args, message):
    done = CliRunner().invoke(app, ["align", *args])
    assert done.exit_code == 2 and message in _said(done.output), done.output


def test_fit_readout_without_a_head_says_how_to_train_one(tmp_path):
    done = CliRunner().invoke(
        app, ["align", "fit-readout", "--data", "d", "--out", str(tmp_path / "r"), "--head", str(tmp_path)]
    )
    assert done.exit_code == 1 and "lmm-apa align train-head" in str(done.exception)


def test_train_the_head_then_fit_the_readout_on_a_few_recordings(corpus_dir, tmp_path):
    from lmm_apa.align.evidence_scorer import EvidenceScorer

    cache, head, readout = tmp_path / "frames", tmp_path / "head", tmp_path / "readout"
    common = ["--data", str(corpus_dir), "--cache", str(cache), "--limit", "4"]
    rooms = ["--augment-copies", "1", "--augment-share", "0.5"]
    done = CliRunner().invoke(
        app, ["align", "train-head", *common, *rooms, "--out", str(head), "--epochs", "1"]
    )
    assert done.exit_code == 0, done.output
    info = json.loads((head / "phone_head.json").read_text())
    assert info["train_split"] == "train-minus-dev25" and info["dev_split"] == "dev25" and info["limit"] == 4
    assert (info["augment_copies"], info["augment_share"]) == (1, 0.5)
    assert len(list(cache.glob("*.npy"))) == 8  # 4 of each split, encoded once
    assert len(list((cache / "room-s0").glob("*.npy"))) == 2  # half the training recordings, in a room

    report = tmp_path / "report"
    args = ["--head", str(head), "--out", str(readout), "--report", str(report), "--n-listen", "2"]
    done = CliRunner().invoke(app, ["align", "fit-readout", *common, *args, "--n-boot", "0"])
    assert done.exit_code == 0, done.output
    assert "| sentence | accuracy | 4 |" in done.output and "Listening checks" in done.output
    saved = json.loads((readout / "readout.json").read_text())
    assert saved["fit_split"] == "train-minus-dev25" and saved["head"] == str(head)
    EvidenceScorer.load(readout)  # loads back
    result = json.loads(report.with_suffix(".json").read_text())
    assert result["listening"]["n"] == 2 and result["metrics"]["phone"]["accuracy"]["n"] > 0
    assert report.with_suffix(".md").read_text() in done.output


def test_tune_encoder_hands_its_recipe_to_the_trainer(monkeypatch, tmp_path):
    """The options reach `train_robust_encoder` under its own names (the run itself is trained in
    tests/align/test_robust_encoder.py)."""
    import lmm_apa.align.robust_encoder as robust

    seen = {}

    def fake(data, out, cache, split, dev_split, **kw):
        seen.update(kw, split=split, dev_split=dev_split)
        return {"history": [{"epoch": 0}]}

    monkeypatch.setattr(robust, "train_robust_encoder", fake)
    args = ["align", "tune-encoder", "--data", str(tmp_path), "--out", str(tmp_path / "o")]
    args += ["--kl-weight", "5"]
    args += ["--crop-share", "0.3", "--telephone-share", "0.35", "--narrowband-share", "0.5", "--epochs", "2"]
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0, done.output
    assert seen["kl_weight"] == 5 and seen["crop_share"] == 0.3 and seen["epochs"] == 2
    assert seen["telephone_p"] == 0.35 and seen["narrowband_share"] == 0.5 and seen["clean_share"] == 0.25
    assert seen["split"] == "train-minus-dev25" and "encoder adapter written" in done.output
