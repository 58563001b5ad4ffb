"""The cross-validation driver on a tiny scale: 2 folds over 20 real recordings (4 speakers), a tiny
head for 1 epoch, stand-in encoder frames (the driver's bookkeeping is under test, not Whisper)."""

import json

import numpy as np
import pytest

from lmm_apa.align.head import HeadConfig
from lmm_apa.data.speechocean import load_speechocean762
from lmm_apa.eval.crossval import CrossVal, HeadRecipe, make_scorer, register_scorer, run_dir


class _RandomFrames:
    """Frames of the right length (50 Hz) and width, seeded by the wave: cheap and deterministic."""

    def frames(self, wave: np.ndarray) -> np.ndarray:
        rng = np.random.default_rng(len(wave))
        return rng.standard_normal((max(len(wave) // 320, 10), 512)).astype(np.float32)


class _AudioMean:
    """A scorer that asks for the waves: sentence scores are the training mean, checked to get audio."""

    needs_audio = True

    def fit(self, utts, alignments, seed=0, waves=None):
        assert len(waves) == len(utts) == len(alignments) and waves[0].ndim == 1
        self.mean = float(np.mean([u.accuracy for u in utts]))
        return self

    def predict(self, reference, alignment, wave=None):
        assert wave is not None and wave.ndim == 1
        return reference.model_copy(update={"accuracy": self.mean})


@pytest.fixture(scope="module")
def tiny(corpus_dir, tmp_path_factory):
    utts = load_speechocean762(corpus_dir, split="train")
    speakers = sorted({u.speaker for u in utts})[:4]
    utts = [u for s in speakers for u in [v for v in utts if v.speaker == s][:5]]
    recipe = HeadRecipe(epochs=1, batch_size=4, head=HeadConfig(d_bottleneck=16, n_layers=1))
    cache = tmp_path_factory.mktemp("cv")
    cv = CrossVal(utts, cache, k=2, seed=0, recipe=recipe, encoder=_RandomFrames(), log=lambda _: None)
    return cv, cache / "out"


def test_oof_covers_every_recording_once_and_heads_never_saw_their_fold(tiny):
    cv, out = tiny
    preds = cv.run("evidence", out)
    assert sorted(preds) == sorted(u.utt_id for u in cv.utts)
    lines = [
        json.loads(x) for f in range(2) for x in (out / "folds" / f"fold{f}.jsonl").read_text().splitlines()
    ]
    assert sorted(d["utt_id"] for d in lines) == sorted(preds)  # each exactly once
    for f in range(2):
        info = json.loads((cv.fold_dir(f) / "fold.json").read_text())
        scored = set(info["scored_speakers"])
        assert scored == {u.speaker for u in cv.folds[f]}
        assert scored.isdisjoint(info["head_train_speakers"]) and scored.isdisjoint(
            info["epoch_dev_speakers"]
        )
        assert set(info["head_train_speakers"]).isdisjoint(info["epoch_dev_speakers"])
        assert info["n_aligned"] == 20
    # what the aligner heard comes with the scores, as `lmm-apa score --json` writes it
    u = preds[cv.folds[0][0].utt_id]
    assert u.accuracy is not None and all(w.error_type is not None for w in u.words)


def test_resumes_from_cache_and_plugs_a_scorer_that_wants_audio(tiny):
    cv, out = tiny
    cv.run("evidence", out)
    stamps = {f: (cv.fold_dir(f) / "alignments.pkl").stat().st_mtime_ns for f in range(2)}
    register_scorer("audio-mean", _AudioMean)
    preds = cv.run("audio-mean", out.parent / "audio")
    assert len(preds) == 20 and len({p.accuracy for p in preds.values()}) == 2  # one mean per fold
    assert stamps == {f: (cv.fold_dir(f) / "alignments.pkl").stat().st_mtime_ns for f in range(2)}
    # the same folds and recipe again find the cache; other folds on the same cache are refused
    assert run_dir(cv.cache, 2, 0, cv.recipe) == cv.dir
    with pytest.raises(Exception, match="other folds"):
        CrossVal(cv.utts[:15], cv.cache, k=2, seed=0, recipe=cv.recipe)
    assert type(make_scorer("lmm_apa.align.evidence_scorer:EvidenceScorer")).__name__ == "EvidenceScorer"


def test_bench_writes_oof_metrics_detection_and_a_paired_comparison(tiny):
    """bench/crossval.py's report on the same tiny run: read back through the evaluation code."""
    import importlib.util
    import sys
    from pathlib import Path

    from lmm_apa.eval.predictions import read_predictions

    path = Path(__file__).resolve().parents[2] / "bench" / "crossval.py"
    spec = importlib.util.spec_from_file_location("bench_crossval", path)
    bench = importlib.util.module_from_spec(spec)
    sys.modules["bench_crossval"] = bench
    spec.loader.exec_module(bench)
    cv, out = tiny
    table = bench.summarise(cv, "evidence", out, n_boot=20)
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(read_predictions(out / "predictions.jsonl")) == 20 == metrics["n_utterances"]
    assert metrics["config"]["folds_done"] == [0, 1] and "phone | accuracy | " in table
    assert metrics["detection"]["said_phones"] > 0 and set(metrics["timings"]) >= {"fold0", "fold1"}
    register_scorer("audio-mean", _AudioMean)
    bench.summarise(cv, "audio-mean", out.parent / "audio", n_boot=20)
    text = bench.compare(out, out.parent / "audio", out.parent / "cmp", cv.utts, n_boot=20)
    assert "| sentence | accuracy | 20 |" in text and "| phone |" not in text  # only what both scored
