"""`lmm_apa.infer.request`: the one driver of scoring requests (the CLI, the web app, the API), with
stand-in scorers (no model): scripted and unscripted requests, batching, errors in place, IPA and
0-100 as asked."""

from __future__ import annotations

import numpy as np
import pytest

from lmm_apa.data.records import Phone, Utterance, Word
from lmm_apa.errors import AudioError, LexiconError, LmmApaError
from lmm_apa.infer import request
from lmm_apa.infer.reference import reference_utterance
from lmm_apa.infer.scorer import ScoreResult

WAVE = np.full(16000, 0.1, dtype=np.float32)


def _scored(text: str, utt_id: str) -> Utterance:
    ref = reference_utterance(text, utt_id)
    words = [
        Word(
            text=w.text,
            accuracy=8.0,
            stress=10.0,
            total=8.0,
            phones=[Phone(symbol=p.symbol, accuracy=1.5) for p in w.phones],
        )
        for w in ref.words
    ]
    return ref.model_copy(
        update={
            "words": words,
            "accuracy": 7.0,
            "completeness": 10.0,
            "fluency": 8.0,
            "prosodic": 7.5,
            "total": 7.2,
        }
    )


class AssessScorer:
    """`assess_text` as the real scorer has it, with an uncertainty."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def assess_text(self, audio, text, utt_id="input") -> ScoreResult:
        self.calls.append(text)
        if "TOMATO" in text:
            raise LexiconError("'TOMATO' is not in the lexicon")
        utt = _scored(text, utt_id)
        return ScoreResult(utt, std={})


class BatchScorer(AssessScorer):
    def __init__(self) -> None:
        super().__init__()
        self.batches: list[int] = []

    def assess_texts(self, items):
        self.batches.append(len(items))
        out = []
        for audio, text, utt_id in items:
            try:
                out.append(self.assess_text(audio, text, utt_id))
            except LmmApaError as e:
                out.append(e)
        return out


class BareScorer:
    """Only `score(wave, text, utt_id) -> Utterance`: what the web app's Protocol asks."""

    def score(self, wave, text, utt_id="input") -> Utterance:
        assert isinstance(wave, np.ndarray)
        return _scored(text, utt_id)


def test_as_asked_adds_ipa_and_puts_scores_on_0_100():
    result = ScoreResult(_scored("WE CALL IT BEAR", "u")).to_json()
    assert request.as_asked(dict(result)) == result  # nothing asked: unchanged
    scaled = request.as_asked(ScoreResult(_scored("WE CALL IT BEAR", "u")).to_json(), ipa=True, scale=100)
    assert scaled["scale"] == 100 and scaled["accuracy"] == 70.0
    assert scaled["words"][3]["ipa"] == "bɛɹ" and scaled["words"][0]["phones-accuracy"] == [75.0, 75.0]


@pytest.mark.parametrize("scorer", [AssessScorer(), BareScorer()])
def test_a_sentence_is_scored_as_given(scorer):
    result = request.score_one(scorer, WAVE, "WE CALL IT BEAR", "u1")
    assert result["utt_id"] == "u1" and result["completeness"] == 10.0 and "reference" not in result


def test_without_a_sentence_the_transcript_is_the_reference():
    heard = []
    scorer = AssessScorer()
    result = request.score_one(
        scorer, WAVE, None, "u1", transcribe=lambda w: heard.append(w) or "We call it bear."
    )
    assert len(heard) == 1 and scorer.calls == ["WE CALL IT BEAR"]  # the corpus' form
    assert result["reference"] == "transcribed" and result["text"] == "WE CALL IT BEAR"
    assert "completeness" not in result
    assessed = request.assess_one(scorer, WAVE, None, "u1", transcribe=lambda w: "We call it bear.")
    assert assessed.utterance.completeness is None  # nor in the utterance feedback is made from


def test_no_speech_is_an_audio_error():
    def silent(wave):
        raise AudioError("no speech found in the recording: nothing to transcribe and score")

    with pytest.raises(AudioError, match="no speech found"):
        request.score_one(AssessScorer(), WAVE, None, "u1", transcribe=silent)


def test_many_keep_their_order_batch_what_has_a_text_and_put_errors_in_place(monkeypatch):
    monkeypatch.setattr(request, "CHUNK", 3)
    scorer = BatchScorer()
    items = [
        ("a", WAVE, "WE CALL IT BEAR"),
        ("b", WAVE, None),
        ("c", WAVE, "KATE GOT THE TOMATO"),
        ("d", WAVE, "TOM GIVES UP BOXING"),
        ("e", "no-such-file.flac", None),
    ]
    out = list(request.score_many(scorer, items, scale=100, transcribe=lambda w: "Mandy has a big arm"))
    assert [utt_id for utt_id, _, _ in out] == ["a", "b", "c", "d", "e"]
    assert scorer.batches == [2, 1]  # chunks of 3: a, c together; then d (b and e are transcribed)
    a, b, c, d, e = (r for _, _, r in out)
    assert a["scale"] == 100 and a["text"] == "WE CALL IT BEAR"
    assert b["reference"] == "transcribed" and b["text"] == "MANDY HAS A BIG ARM"
    assert isinstance(c, LexiconError) and "TOMATO" in str(c)
    assert d["utt_id"] == "d"
    assert isinstance(e, AudioError)  # the audio of an unscripted item could not be read
