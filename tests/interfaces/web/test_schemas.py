import pytest
from pydantic import ValidationError

from lmm_apa.infer.reference import reference_utterance
from lmm_apa.interfaces.web.schemas import ErrorResponse, Health, Scale, ScoreResponse, WordScores

META = {"model": "stand-in", "audio_seconds": 2.5, "scoring_seconds": 0.1}


def _scored():
    ref = reference_utterance("we call it bear", "u1")
    words = [
        w.model_copy(
            update={"accuracy": 9.0, "phones": [p.model_copy(update={"accuracy": 2.0}) for p in w.phones]}
        )
        for w in ref.words
    ]
    return ref.model_copy(update={"words": words, "accuracy": 8.0, "total": 7.5})


def test_a_corpus_dict_is_a_score_response():
    body = {**_scored().to_corpus_dict(), "utt_id": "u1", "meta": META}
    response = ScoreResponse.model_validate(body)
    assert response.accuracy == 8.0 and response.reference is None and response.scale is None
    assert [w.text for w in response.words] == ["WE", "CALL", "IT", "BEAR"]
    assert response.words[0].phones_accuracy == [2.0, 2.0]
    dumped = response.model_dump(by_alias=True, exclude_none=True)
    assert "phones-accuracy" in dumped["words"][0]
    assert dumped["feedback"] == []


def test_scores_stay_in_range_and_scale_is_100_or_absent():
    with pytest.raises(ValidationError):
        WordScores(text="A", accuracy=101)
    with pytest.raises(ValidationError):
        ScoreResponse.model_validate({"utt_id": "u", "text": "A", "words": [], "meta": META, "scale": 10})
    assert Scale(100) is Scale.hundred
    assert Scale(10) is Scale.corpus


def test_word_fields_by_name_or_alias():
    assert WordScores(text="A", phones_accuracy=[1.0]).phones_accuracy == [1.0]
    assert WordScores.model_validate({"text": "A", "phones-accuracy": [1.5]}).phones_accuracy == [1.5]


def test_error_and_health_shapes():
    err = ErrorResponse.model_validate({"error": {"code": "busy", "message": "later"}})
    assert err.model_dump() == {"error": {"code": "busy", "message": "later"}}
    with pytest.raises(ValidationError):
        ErrorResponse.model_validate({"error": {"code": "busy"}})
    h = Health(status="ok", model="m", model_loaded=True, in_flight=1, waiting=0, max_queue=8)
    assert h.model_dump()["max_queue"] == 8
