"""The HTTP API, run in-process with real corpus audio and a deterministic test-double scorer."""

from __future__ import annotations

import copy
import io

import jsonschema
import numpy as np
import pytest
import soundfile as sf
from fastapi.testclient import TestClient

from lmm_apa.data.lexicon import canonical_words
from tests.interfaces.web.scorer_double import EnergyScorer, UncertainScorer


def wav_bytes(wave: np.ndarray, rate: int = 16000) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, wave, rate, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def post(client, audio: bytes | None, text: str | None, filename: str = "a.flac"):
    files = {"audio": (filename, audio, "audio/flac")} if audio is not None else None
    data = {"text": text} if text is not None else None
    return client.post("/score", files=files, data=data)


def assert_error(response, status: int, code: str, *words: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert body["error"]["code"] == code, body
    for w in words:
        assert w.lower() in body["error"]["message"].lower(), body
    return body["error"]["message"]


def test_health_reports_the_loaded_model(client):
    body = client.get("/health").json()
    assert body == {
        "status": "ok",
        "model": "energy-double",
        "model_loaded": True,
        "in_flight": 0,
        "waiting": 0,
        "max_queue": 8,
    }


def test_score_real_recording(client, scorer, bear_flac):
    r = post(client, bear_flac.read_bytes(), "WE CALL IT BEAR")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["text"] == "WE CALL IT BEAR"
    assert body["utt_id"].startswith("web-")
    assert [w["text"] for w in body["words"]] == ["WE", "CALL", "IT", "BEAR"]
    # Phones are the lexicon's canonical ones, each with an accuracy on the 0-2 scale.
    assert [w["phones"] for w in body["words"]] == [p for _, p in canonical_words("WE CALL IT BEAR")]
    for w in body["words"]:
        assert len(w["phones-accuracy"]) == len(w["phones"])
        assert all(0 <= a <= 2 for a in w["phones-accuracy"])
        assert 0 <= w["total"] <= 10
    for aspect in ("accuracy", "completeness", "fluency", "prosodic", "total"):
        assert 0 <= body[aspect] <= 10
    info = sf.info(bear_flac)
    assert body["meta"]["audio_seconds"] == pytest.approx(info.frames / info.samplerate, abs=1e-3)
    assert body["meta"]["model"] == "energy-double"
    assert "uncertainty" not in body  # this scorer gives none
    assert scorer.calls == 1
    # Same audio, same scores (the double is deterministic): the app adds no randomness.
    again = post(client, bear_flac.read_bytes(), "WE CALL IT BEAR").json()
    assert again["words"] == body["words"]


def test_text_is_normalised_to_the_corpus_form(client, bear_flac):
    body = post(client, bear_flac.read_bytes(), "  we call it, bear!  ").json()
    assert body["text"] == "WE CALL IT BEAR"
    assert len(body["words"]) == 4


def test_response_validates_against_the_openapi_schema(client, bear_flac):
    spec = client.get("/openapi.json").json()
    op = spec["paths"]["/score"]["post"]
    assert set(op["requestBody"]["content"]) == {"multipart/form-data"}
    schema = {
        **op["responses"]["200"]["content"]["application/json"]["schema"],
        "components": spec["components"],
    }
    validator = jsonschema.Draft202012Validator(schema)
    body = post(client, bear_flac.read_bytes(), "WE CALL IT BEAR").json()
    validator.validate(body)
    # The aligner's keys are on this response (the double gives them), so they were validated too.
    aligner_keys = {"start", "end", "error_type", "phones-start", "phones-end", "phones-heard"}
    assert aligner_keys <= set(body["words"][0])
    assert body["insertions"]
    # The schema is strict enough to catch a wrong response (so this test can fail).
    bad = copy.deepcopy(body)
    bad["words"][0]["total"] = 101  # over even the 0-100 view
    assert not validator.is_valid(bad)
    assert not validator.is_valid({**body, "scale": 10})  # only 100 is ever said
    assert not validator.is_valid({**body, "reference": "given"})
    del bad["words"]
    assert not validator.is_valid(bad)
    for key, value in [
        ("error_type", "substitution"),
        ("start", -0.5),
        ("phones-heard", [1, None]),
        ("phones-start", ["soon", None]),
    ]:
        bad = copy.deepcopy(body)
        bad["words"][0][key] = value
        assert not validator.is_valid(bad), key
    for insertion in ({"start": 0.1, "end": 0.2}, {"start": 0.1, "end": 0.2, "after_word": -2}):
        bad = copy.deepcopy(body)
        bad["insertions"] = [insertion]
        assert not validator.is_valid(bad), insertion
    # Errors have the documented shape too.
    error_ref = op["responses"]["422"]["content"]["application/json"]["schema"]
    error = post(client, b"not audio", "WE CALL IT BEAR").json()
    jsonschema.Draft202012Validator({**error_ref, "components": spec["components"]}).validate(error)


def test_the_schema_documents_the_aligners_keys(client):
    components = client.get("/openapi.json").json()["components"]["schemas"]
    word = components["WordScores"]["properties"]
    for key in ("start", "end", "error_type", "phones-start", "phones-end", "phones-heard"):
        assert word[key].get("description"), key
    assert {"none", "omission", "mispronunciation"} == {
        v for option in word["error_type"]["anyOf"] for v in option.get("enum", [])
    }
    assert components["ScoreResponse"]["properties"]["insertions"]["description"]
    assert set(components["Insertion"]["required"]) == {"start", "end", "after_word"}


def test_alignment_of_the_double_in_the_response(client, bear_flac):
    body = post(client, bear_flac.read_bytes(), "WE CALL IT BEAR").json()
    we, call, it, bear = body["words"]
    assert [w["error_type"] for w in body["words"]] == ["none", "none", "omission", "mispronunciation"]
    # An omitted word has no times (null is left out of the response) and null phone times.
    assert "start" not in it and "end" not in it
    assert it["phones-start"] == [None, None] and it["phones-end"] == [None, None]
    # Spans run forward in time, phones inside their word.
    assert 0 <= we["start"] < we["end"] <= call["start"] < call["end"] <= bear["start"] < bear["end"]
    for w in (we, call, bear):
        assert w["phones-start"][0] == pytest.approx(w["start"])
        assert w["phones-end"][-1] == pytest.approx(w["end"])
    assert bear["end"] == pytest.approx(body["meta"]["audio_seconds"], abs=1e-3)
    # BEAR's weakest phone was heard as another sound, an ARPAbet symbol without stress digit.
    heard = [(p, h) for p, h in zip(bear["phones"], bear["phones-heard"], strict=True) if h]
    assert len(heard) == 1 and heard[0][1].isalpha() and heard[0][1].isupper()
    assert heard[0][1] != heard[0][0].rstrip("012")
    # The extra speech sits between WE and CALL.
    (insertion,) = body["insertions"]
    assert insertion["after_word"] == 0
    assert we["end"] == pytest.approx(insertion["start"]) and insertion["end"] == pytest.approx(call["start"])


def test_feedback_names_weak_words_worst_first(client, bear_flac):
    body = post(client, bear_flac.read_bytes(), "WE CALL IT BEAR").json()
    totals = {i: w["total"] for i, w in enumerate(body["words"])}
    indices = [h["word_index"] for h in body["feedback"]]
    # Skipped words first, then the lowest scored.
    skipped = {i for i, w in enumerate(body["words"]) if w.get("error_type") == "omission"}
    assert indices == sorted(indices, key=lambda i: (i not in skipped, totals[i], i))
    assert indices[0] == 2
    for h in body["feedback"]:
        prefix = "You skipped" if h["word_index"] in skipped else "Work on"
        assert h["message"].startswith(f"{prefix} {h['word']}:")
    assert body["feedback"][0]["message"] == "You skipped IT: say it between CALL and BEAR."
    # The mispronounced word's tip names the sound heard instead.
    bear = body["words"][3]
    heard = next(h for h in bear["phones-heard"] if h)
    tips = {h["word"]: h["message"] for h in body["feedback"]}
    assert "BEAR" in tips and f"sounded like {heard}" in tips["BEAR"]


def test_uncertainty_is_returned_when_the_scorer_gives_it(make_app, bear_flac):
    with TestClient(make_app(UncertainScorer())) as c:
        body = post(c, bear_flac.read_bytes(), "WE CALL IT BEAR").json()
    assert body["uncertainty"]["accuracy"] == pytest.approx(1.25)
    assert [w["text"] for w in body["uncertainty"]["words"]] == ["WE", "CALL", "IT", "BEAR"]
    assert body["uncertainty"]["words"][3]["phones-accuracy"] == pytest.approx([0.25] * 3)
    assert "problems" not in body


# ---- bad input: 4xx with one JSON shape, and a message a user can act on ----


def test_no_file(client):
    assert_error(post(client, None, "WE CALL IT BEAR"), 422, "bad_request", "no audio file", "'audio'")


@pytest.mark.parametrize("text", [None, "", "   "])
def test_without_a_sentence_the_recording_is_transcribed(client, scorer, transcriber, bear_flac, text):
    r = post(client, bear_flac.read_bytes(), text)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["reference"] == "transcribed" and body["text"] == "WE CALL IT BEAR"  # the corpus' form
    assert [w["text"] for w in body["words"]] == ["WE", "CALL", "IT", "BEAR"]
    assert "completeness" not in body and body["accuracy"] is not None
    assert transcriber.calls == 1 and scorer.calls == 1


def test_a_sentence_is_not_transcribed(client, transcriber, bear_flac):
    body = post(client, bear_flac.read_bytes(), "WE CALL IT BEAR").json()
    assert "reference" not in body and "completeness" in body and transcriber.calls == 0


def test_no_speech_is_a_clear_error(client, scorer, transcriber, bear_flac):
    transcriber.text = None
    assert_error(post(client, bear_flac.read_bytes(), None), 422, "audio_error", "no speech found")
    assert scorer.calls == 0


def test_transcript_with_an_unknown_word(client, transcriber, bear_flac):
    transcriber.text = "We call it 你好."
    assert_error(post(client, bear_flac.read_bytes(), None), 422, "unknown_word", "你好")


def test_phones_in_ipa_and_scores_on_0_100(client, bear_flac):
    data = bear_flac.read_bytes()
    plain = post(client, data, "WE CALL IT BEAR").json()
    form = {"text": "WE CALL IT BEAR", "phones": "ipa", "scale": "100"}
    r = client.post("/score", files={"audio": ("a.flac", data)}, data=form)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["scale"] == 100 and "scale" not in plain
    assert body["accuracy"] == pytest.approx(10 * plain["accuracy"])
    for w, p in zip(body["words"], plain["words"], strict=True):
        assert w["phones"] == p["phones"] and w.get("start") == p.get("start")  # ARPAbet and times kept
        assert w["accuracy"] == pytest.approx(10 * p["accuracy"])
        assert w["phones-accuracy"] == pytest.approx([50 * x for x in p["phones-accuracy"]])
    bear = body["words"][3]
    assert bear["phones-ipa"] == ["b", "ɛ", "ɹ"] and bear["ipa"] == "bɛɹ"
    assert len(bear["phones-heard-ipa"]) == 3
    assert "phones-ipa" not in plain["words"][0]


@pytest.mark.parametrize(("field", "value"), [("scale", "50"), ("phones", "xsampa")])
def test_bad_view_options(client, bear_flac, field, value):
    files = {"audio": ("a.flac", bear_flac.read_bytes())}
    r = client.post("/score", files=files, data={"text": "HI", field: value})
    assert_error(r, 422, "bad_request", field)


def test_openapi_documents_the_options(client):
    spec = client.get("/openapi.json").json()
    form = spec["components"]["schemas"]["Body_score_score_post"]["properties"]
    assert set(form) >= {"audio", "text", "phones", "scale"}
    assert "transcribed" in form["text"]["description"]
    response = spec["components"]["schemas"]["ScoreResponse"]["properties"]
    assert {"reference", "scale"} <= set(response)
    assert {"ipa", "phones-ipa"} <= set(spec["components"]["schemas"]["WordScores"]["properties"])


def test_too_long_text(client, bear_flac):
    assert_error(post(client, bear_flac.read_bytes(), "BEAR " * 100), 422, "bad_request", "over 300")


@pytest.mark.parametrize("word", ["MP3", "你好"])
def test_unknown_word_is_named(client, scorer, bear_flac, word):
    r = post(client, bear_flac.read_bytes(), f"WE CALL IT {word}")
    assert_error(r, 422, "unknown_word", word)
    assert scorer.calls == 0  # refused before queueing for the model


def test_not_audio(client, scorer):
    assert_error(
        post(client, b"this is not audio" * 100, "WE CALL IT BEAR"), 422, "audio_error", "cannot read"
    )
    assert scorer.calls == 0


def test_empty_file(client):
    assert_error(post(client, b"", "WE CALL IT BEAR"), 422, "audio_error", "empty")


def test_too_long_audio(client):
    rng = np.random.default_rng(0)
    long = wav_bytes(0.1 * rng.standard_normal(31 * 16000).astype(np.float32))
    assert_error(
        post(client, long, "WE CALL IT BEAR", "long.wav"), 422, "audio_error", "31.0 s", "30 s limit"
    )


def test_silent_audio(client):
    silent = wav_bytes(np.zeros(16000, dtype=np.float32))
    assert_error(post(client, silent, "WE CALL IT BEAR", "quiet.wav"), 422, "audio_error", "silent")


def test_too_large_upload_is_refused_from_its_header(client, scorer):
    big = b"\0" * (10 * 1024 * 1024 + 1)
    assert_error(post(client, big, "WE CALL IT BEAR"), 413, "too_large", "10 MB")
    assert scorer.calls == 0


def test_too_large_chunked_upload_is_refused_while_reading(make_app, scorer):
    # No Content-Length (chunked): the body is counted as it arrives.
    def body():
        yield b'--b\r\nContent-Disposition: form-data; name="audio"; filename="a.wav"\r\n\r\n'
        for _ in range(40):
            yield b"\0" * 65536

    with TestClient(make_app(scorer, max_upload_bytes=1_000_000)) as c:
        r = c.post("/score", content=body(), headers={"content-type": "multipart/form-data; boundary=b"})
    assert "content-length" not in {k.lower() for k in r.request.headers}
    assert_error(r, 413, "too_large")


def test_unknown_path_and_method_use_the_error_shape(client):
    assert_error(client.get("/nope"), 404, "not_found")
    assert_error(client.get("/score"), 405, "method_not_allowed")


def test_score_before_the_model_is_loaded(make_app, scorer, bear_flac):
    c = TestClient(make_app(scorer))  # not used as a context manager: lifespan (model load) not run
    assert c.get("/health").json()["model_loaded"] is False
    assert_error(post(c, bear_flac.read_bytes(), "WE CALL IT BEAR"), 503, "not_ready")


class _Broken:
    def __init__(self) -> None:
        self.calls = 0

    def score(self, wave, text, utt_id="input"):
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("boom")
        return EnergyScorer().score(wave, text, utt_id)


def test_a_scorer_bug_is_a_500_and_frees_the_model(make_app, bear_flac):
    scorer = _Broken()
    with TestClient(make_app(scorer), raise_server_exceptions=False) as c:
        first = post(c, bear_flac.read_bytes(), "WE CALL IT BEAR")
        assert_error(first, 500, "internal", "RuntimeError")
        assert c.get("/health").json()["in_flight"] == 0
        assert post(c, bear_flac.read_bytes(), "WE CALL IT BEAR").status_code == 200


def test_page_and_assets_are_served(client):
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert 'src="/static/app.js"' in page.text and "http" not in page.text.replace("http-equiv", "")
    for asset in ("app.js", "style.css"):
        r = client.get(f"/static/{asset}")
        assert r.status_code == 200 and len(r.text) > 500
    examples = client.get("/examples").json()
    assert "WE CALL IT BEAR" in examples
    for sentence in examples:  # every offered sentence can be scored
        assert canonical_words(sentence)


def test_the_page_uses_the_same_0_100_map():
    """app.js converts for its 0-100 toggle; its factors are lmm_apa.data.scale100's."""
    import re

    from lmm_apa.data.scale100 import FACTORS
    from lmm_apa.interfaces.web.app import STATIC_DIR

    js = (STATIC_DIR / "app.js").read_text()
    found = re.search(r"const SCALE_100 = \{ sentence: (\d+), word: (\d+), phone: (\d+) \};", js)
    assert found, "SCALE_100 not found in app.js"
    assert dict(zip(("sentence", "word", "phone"), map(float, found.groups()), strict=True)) == FACTORS


def test_the_meta_records_the_scoring_policy_the_scorer_applies(client, scorer, bear_flac):
    from lmm_apa.infer.policy import DEFAULT_POLICY

    assert post(client, bear_flac.read_bytes(), "WE CALL IT BEAR").json()["meta"].get("policy") is None
    scorer.policy = DEFAULT_POLICY.with_share("phone=0")
    meta = post(client, bear_flac.read_bytes(), "WE CALL IT BEAR").json()["meta"]
    assert meta["policy"]["lmm_share"] == {"sentence": 1.0, "word": 1.0, "phone": 0.0}
    assert meta["policy"]["source"] == "built-in default + --lmm-share"
    assert meta["policy"]["heard_below"] == 1.0
