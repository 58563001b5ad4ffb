"""The API's one error shape, on a small app with the handlers and the body limit."""

import pytest
from fastapi import FastAPI, Form
from fastapi.testclient import TestClient

from lmm_apa.errors import AudioError, DataError, LexiconError, ModelError
from lmm_apa.interfaces.web.errors import ApiError, BodyLimit, add_error_handlers
from lmm_apa.interfaces.web.schemas import ErrorResponse

RAISES = {
    "api": ApiError(503, "busy", "the queue is full", {"Retry-After": "5"}),
    "audio": AudioError("not audio"),
    "lexicon": LexiconError("unknown word ZORB"),
    "data": DataError("bad data"),
    "model": ModelError("weights missing"),
    "bug": KeyError("oops"),
}


@pytest.fixture(scope="module")
def client():
    app = FastAPI()

    @app.get("/raise/{what}")
    def _raise(what: str):
        raise RAISES[what]

    @app.post("/form")
    def _form(text: str = Form(...), n: int = Form(...)):
        return {"text": text, "n": n}

    app.add_middleware(BodyLimit, max_bytes=100)
    add_error_handlers(app)
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def error_of(response) -> tuple[int, str, str]:
    body = ErrorResponse.model_validate(response.json())
    return response.status_code, body.error.code, body.error.message


@pytest.mark.parametrize(
    "what, status, code",
    [
        ("api", 503, "busy"),
        ("audio", 422, "audio_error"),
        ("lexicon", 422, "unknown_word"),
        ("data", 422, "bad_request"),
        ("model", 500, "model_error"),
        ("bug", 500, "internal"),
    ],
)
def test_every_error_has_the_one_shape(client, what, status, code):
    response = client.get(f"/raise/{what}")
    got_status, got_code, message = error_of(response)
    assert (got_status, got_code) == (status, code)
    if what == "bug":
        assert message == "internal error (KeyError); see the server log"
    else:
        assert message == str(RAISES[what].args[-1] if what != "api" else RAISES[what].message)
    if what == "api":
        assert response.headers["retry-after"] == "5"


def test_a_missing_form_field_is_named_with_how_to_send_it(client):
    status, code, message = error_of(client.post("/form", data={"n": "x"}))
    assert (status, code) == (422, "bad_request")
    assert "no text: send the sentence" in message
    assert "n:" in message


def test_unknown_paths_and_methods(client):
    assert error_of(client.get("/nowhere"))[:2] == (404, "not_found")
    assert error_of(client.get("/form"))[:2] == (405, "method_not_allowed")


def test_a_body_over_the_limit_is_refused_by_its_header_or_while_read(client):
    assert error_of(client.post("/form", data={"text": "x" * 200, "n": "1"}))[:2] == (413, "too_large")

    def chunks():
        for _ in range(10):
            yield b"text=" + b"x" * 30

    status, code, message = error_of(
        client.post("/form", content=chunks(), headers={"content-type": "application/x-www-form-urlencoded"})
    )
    assert (status, code) == (413, "too_large")
    assert "MB limit" in message
    assert client.post("/form", data={"text": "hi", "n": "2"}).json() == {"text": "hi", "n": 2}
