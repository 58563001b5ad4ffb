"""Scoring corpus utterances in chunks, with a stand-in scorer (no model)."""

import numpy as np
import pytest
import soundfile as sf

from lmm_apa.data.records import Phone, Utterance, Word
from lmm_apa.distributed import Workers
from lmm_apa.infer import batch
from lmm_apa.infer.batch import predict_utterances
from lmm_apa.infer.scorer import ScoreResult


class _Scorer:
    """Scores each word with the recording's length in seconds; a word "BAD" does not parse."""

    mode = "stand-in"

    def __init__(self):
        self.batches = []

    def assess_batch(self, refs, waves):
        self.batches.append([r.utt_id for r in refs])
        out = []
        for ref, wave in zip(refs, waves, strict=True):
            assert ref.accuracy is None, "the scorer must not see the labels"
            words = [w.model_copy(update={"accuracy": len(wave) / 16000}) for w in ref.words]
            problems = ["no score for BAD"] if ref.text == "BAD" else []
            out.append(ScoreResult(ref.model_copy(update={"words": words}), problems=problems))
        return out


@pytest.fixture
def corpus(tmp_path):
    utts = []
    for i in range(5):
        path = tmp_path / f"u{i}.wav"
        sf.write(
            path, np.random.default_rng(i).normal(scale=0.1, size=8000 * (i + 1)).astype(np.float32), 16000
        )
        text = "BAD" if i == 3 else "SEE"
        utts.append(
            Utterance(
                utt_id=f"u{i}",
                text=text,
                audio_path=str(path),
                accuracy=7.0,
                words=[Word(text=text, accuracy=8.0, phones=[Phone(symbol="S", accuracy=2.0)])],
            )
        )
    utts[1] = utts[1].model_copy(update={"audio_path": str(tmp_path / "missing.wav")})
    return utts


def test_every_utterance_is_scored_or_has_its_error_in_the_given_order(corpus, monkeypatch):
    monkeypatch.setattr(batch, "CHUNK", 2)
    scorer = _Scorer()
    out = predict_utterances(scorer, corpus, progress=False)
    assert list(out.predictions) == ["u0", "u2", "u3", "u4"]
    assert list(out.errors) == ["u1"] and "missing.wav" in out.errors["u1"]
    assert out.parse_failures == 1
    assert out.scored_here == 5
    assert [out.predictions[u].words[0].accuracy for u in ("u0", "u2", "u4")] == [0.5, 1.5, 2.5]
    assert scorer.batches == [["u0"], ["u2", "u3"], ["u4"]]  # chunks of 2, the unreadable one left out


def test_a_process_scores_only_its_round_robin_chunks(corpus, monkeypatch):
    monkeypatch.setattr(batch, "CHUNK", 2)
    second = Workers()
    second.rank, second.world = 1, 2
    scorer = _Scorer()
    out = predict_utterances(scorer, corpus, progress=False, workers=second)
    assert scorer.batches == [["u2", "u3"]]
    assert out.scored_here == 2
    assert list(out.predictions) == ["u2", "u3"]  # one process here: gather returns its own
