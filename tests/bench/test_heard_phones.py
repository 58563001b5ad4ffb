"""bench/heard_phones.py's detection metrics on hand-made flags, and the script on two recordings."""

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def hp():
    spec = importlib.util.spec_from_file_location("heard_phones", ROOT / "bench" / "heard_phones.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_precision_recall_f1_and_auc_by_hand(hp):
    pos = np.array([True, True, False, False, False])
    flag = np.array([True, False, True, False, False])
    spk = np.array(["a", "a", "b", "b", "b"])
    per = hp.counts_by_speaker(flag, pos, spk)
    assert per.tolist() == [[1, 1, 2], [0, 1, 0]]  # (tp, flagged, positives) per speaker
    p, r, f = hp.prf(per.sum(0))
    assert (p, r, f) == (0.5, 0.5, 0.5)
    # low scores flag: positives scored below every negative is AUC 1, above every one 0
    assert hp.auc(np.array([0.1, 0.2, 0.5, 0.6, 0.9]), pos) == 1.0
    assert hp.auc(np.array([0.9, 0.8, 0.1, 0.2, 0.3]), pos) == 0.0


def test_cross_validated_cut_is_chosen_without_the_held_out_fold(hp):
    rng = np.random.default_rng(0)
    score = rng.normal(size=400)
    pos = score < -1.0  # a perfect detector at the cut -1
    spk = np.repeat([f"s{i}" for i in range(10)], 40)
    grid = np.linspace(-3, 3, 61)
    assert hp.best_cut(score, pos, grid) == pytest.approx(-0.9, abs=0.11)  # the first grid point above
    flag, cuts = hp.cv_flags(score, pos, spk, grid)
    assert len(cuts) == hp.N_FOLDS and flag.dtype == bool
    assert hp.prf(hp.counts_by_speaker(flag, pos, spk).sum(0))[2] > 0.95


def test_the_script_measures_the_shipped_rules_on_real_recordings(hp, corpus_dir, tmp_path, monkeypatch):
    out = tmp_path / "hp"
    argv = ["heard_phones.py", "--data", str(corpus_dir), "--limit", "3",
            "--n-boot", "20", "--out", str(out)]  # fmt: skip
    monkeypatch.setattr(sys, "argv", argv)
    hp.main()
    r = json.loads(out.with_suffix(".json").read_text())
    assert r["recordings"] == 3 and r["said_phones"] > 10
    from lmm_apa.align.evidence_scorer import HEARD_BELOW

    assert r["shipped_cuts"]["readout"] == HEARD_BELOW
    wrong = r["targets"]["not_clean"]["readout"]["shipped"]
    assert 0 <= wrong["precision"] <= 1 and 0 <= wrong["flagged_share"] <= 1
    assert "| readout |" in out.with_suffix(".md").read_text()
