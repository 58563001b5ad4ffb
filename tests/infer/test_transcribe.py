"""The transcriber's pure parts; Whisper itself runs in tests/interfaces/cli/test_score_cmd_unscripted.py."""

from lmm_apa.infer import transcribe
from lmm_apa.infer.transcribe import TRANSCRIBED, default_transcriber, mark_transcribed, transcript_reference


def test_a_transcript_is_put_in_the_corpus_form():
    assert transcript_reference("We call it bear.") == "WE CALL IT BEAR"
    assert transcript_reference("  well,   okay ") == "WELL OKAY"


def test_a_transcribed_result_loses_completeness_and_says_so():
    result = {"accuracy": 7.0, "completeness": 10.0, "uncertainty": {"accuracy": 0.3, "completeness": 0.1}}
    out = mark_transcribed(result)
    assert out is result
    assert out == {"accuracy": 7.0, "uncertainty": {"accuracy": 0.3}, "reference": TRANSCRIBED}
    assert mark_transcribed({"uncertainty": None})["uncertainty"] is None


def test_one_transcriber_per_process_loaded_lazily(monkeypatch):
    monkeypatch.setattr(transcribe, "_default", None)
    a = default_transcriber()
    assert a is default_transcriber()
    assert isinstance(a, transcribe.Transcriber)
