"""The HTTP API and practice page: `POST /score` (audio + sentence -> scores), `GET /health`, `GET /`.

The scorer is injected (`create_app(scorer_factory=...)`) and built once, at startup, so tests run
this very app with a small model and `lmm-apa serve` runs it with the real one. Every error answers
with one JSON shape, `{"error": {"code", "message"}}` (`schemas.ErrorResponse`):

- 413 `too_large`: body over `max_upload_bytes` (refused from Content-Length before reading it);
- 422 `bad_request` (missing field, empty or too-long text), `audio_error` (not audio, corrupt,
  silent, too long: `load_audio`'s message), `unknown_word` (naming the word);
- 503 `busy` (queue full, with Retry-After) or `not_ready` (no model loaded).
"""

from __future__ import annotations

import io
import logging
import uuid
from collections.abc import Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import anyio
import numpy as np
from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lmm_apa.data.audio import SAMPLE_RATE, load_audio
from lmm_apa.data.records import Utterance
from lmm_apa.errors import AudioError, LexiconError, LmmApaError, ModelError
from lmm_apa.interfaces.web.feedback import hints
from lmm_apa.interfaces.web.gate import QueueFull, ScoringGate
from lmm_apa.interfaces.web.schemas import ErrorResponse, Health, ScoreMeta, ScoreResponse

log = logging.getLogger("lmm_apa.web")
STATIC_DIR = Path(__file__).parent / "static"

# Sentences of the Speechocean762 train split, offered on the page as a start.
EXAMPLE_SENTENCES = (
    "WE CALL IT BEAR",
    "TOM GIVES UP BOXING",
    "MARK LIVED IN NEW YORK",
    "KATE GOT THE TOMATO",
    "LET'S GO TO THE RESTROOM",
    "MANDY HAS A BIG ARM",
)


@runtime_checkable
class Scorer(Protocol):
    """What the app needs of a scorer (`lmm_apa.infer.scorer.Scorer` is one).

    A scorer that also has ``assess_text(wave, text, utt_id) -> ScoreResult`` (as the real one does)
    is called through it, so the response carries its `uncertainty` and `problems` too.
    """

    def score(self, wave: np.ndarray, text: str, utt_id: str = "input") -> Utterance: ...


ScorerFactory = Callable[[], Scorer]


@dataclass(frozen=True)
class Limits:
    # 10 MB: a 30 s, 16-bit stereo 48 kHz WAV is 5.8 MB; anything bigger is not one spoken sentence.
    max_upload_bytes: int = 10 * 1024 * 1024
    max_seconds: float = 30.0  # load_audio's default
    max_text_chars: int = 300
    max_queue: int = 8  # waiting requests; at ~1-2 s a request, the last one waits ~10-20 s
    queue_timeout: float = 120.0


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = ErrorResponse.model_validate({"error": {"code": code, "message": message}})
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


_ERRORS = {
    code: {"model": ErrorResponse, "description": what}
    for code, what in {
        413: "Upload too large (`too_large`).",
        422: "Bad input: `bad_request`, `audio_error` or `unknown_word`; the message says which.",
        503: "Busy (`busy`, with Retry-After) or no model loaded (`not_ready`).",
    }.items()
}


def create_app(
    scorer_factory: ScorerFactory, *, model_name: str = "default", limits: Limits | None = None
) -> FastAPI:
    """The app; `scorer_factory()` runs once, at startup (a `TestClient` used as a context manager
    or uvicorn runs it)."""
    limits = limits or Limits()
    gate = ScoringGate(max_queue=limits.max_queue, queue_timeout=limits.queue_timeout)
    holder: dict[str, Scorer] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        holder["scorer"] = await anyio.to_thread.run_sync(scorer_factory)
        log.info("scorer %r loaded", model_name)
        try:
            yield
        finally:
            holder.clear()
            gate.shutdown()

    app = FastAPI(
        title="lmm-apa",
        summary="Pronunciation assessment of read English sentences (Speechocean762 scales).",
        version="0.1.0",
        lifespan=lifespan,
        # Swagger UI and ReDoc load their scripts from a CDN, which this offline app must not need;
        # the schema itself stays at /openapi.json.
        docs_url=None,
        redoc_url=None,
    )
    app.add_middleware(BodyLimit, max_bytes=limits.max_upload_bytes)
    _add_error_handlers(app)

    @app.post(
        "/score",
        response_model=ScoreResponse,
        response_model_exclude_none=True,
        responses=_ERRORS,
        summary="Score a recording of a read sentence",
    )
    async def score(
        audio: UploadFile = File(..., description="The recording (WAV, FLAC, OGG or MP3), at most 30 s."),
        text: str = Form(..., description="The sentence that was read, e.g. 'WE CALL IT BEAR'."),
    ) -> ScoreResponse:
        scorer = holder.get("scorer")
        if scorer is None:
            raise ApiError(503, "not_ready", "the model is not loaded yet: try again shortly")
        sentence = await anyio.to_thread.run_sync(_check_text, text, limits.max_text_chars)
        data = await audio.read()
        try:
            gate.admit()
        except QueueFull as e:
            raise ApiError(503, "busy", str(e), {"Retry-After": str(e.retry_after)}) from None
        try:
            wave = await anyio.to_thread.run_sync(_decode, data, audio.filename, limits.max_seconds)
            utt_id = f"web-{uuid.uuid4().hex[:8]}"
            (utt, extras), seconds = await gate.run(lambda: _run_scorer(scorer, wave, sentence, utt_id))
        except QueueFull as e:
            raise ApiError(503, "busy", str(e), {"Retry-After": str(e.retry_after)}) from None
        finally:
            gate.release()
        log.info("%s scored in %.2f s: %r", utt_id, seconds, sentence)
        return ScoreResponse.model_validate(
            {
                **utt.to_corpus_dict(),
                **extras,
                "feedback": hints(utt),
                "meta": ScoreMeta(
                    model=model_name, audio_seconds=len(wave) / SAMPLE_RATE, scoring_seconds=seconds
                ),
            }
        )

    @app.get("/health", response_model=Health, summary="Is the model loaded; how full is the queue")
    async def health() -> Health:
        loaded = "scorer" in holder
        return Health(
            status="ok" if loaded else "loading",
            model=model_name,
            model_loaded=loaded,
            in_flight=gate.in_flight,
            waiting=gate.waiting,
            max_queue=gate.max_queue,
        )

    @app.get("/examples", response_model=list[str], summary="Example sentences to practise")
    async def examples() -> list[str]:
        return list(EXAMPLE_SENTENCES)

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html")

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def _check_text(text: str, max_chars: int) -> str:
    """The sentence in the corpus' form ("we call it bear." -> "WE CALL IT BEAR"), or a 422."""
    from lmm_apa.data.lexicon import canonical_words

    if not text.strip():
        raise ApiError(422, "bad_request", "the text is empty: type the sentence that was read")
    if len(text) > max_chars:
        too_long = f"the text is {len(text)} characters long, over {max_chars}: one sentence please"
        raise ApiError(422, "bad_request", too_long)
    words = canonical_words(text)  # LexiconError (naming the word) -> 422 unknown_word
    if not words:
        raise ApiError(422, "bad_request", f"the text {text!r} has no words to score")
    return " ".join(word for word, _ in words)


def _decode(data: bytes, filename: str | None, max_seconds: float) -> np.ndarray:
    if not data:
        return load_audio(data)  # raises "audio is empty (0 bytes)"
    upload = io.BytesIO(data)
    upload.name = filename or "the upload"  # so that load_audio's messages name the user's file
    return load_audio(upload, max_seconds=max_seconds)


def _run_scorer(scorer: Scorer, wave: np.ndarray, text: str, utt_id: str) -> tuple[Utterance, dict[str, Any]]:
    """The scored utterance, and `uncertainty` / `problems` where the scorer reports them."""
    assess = getattr(scorer, "assess_text", None)
    if not callable(assess):
        return scorer.score(wave, text, utt_id), {}
    result = assess(wave, text, utt_id)  # lmm_apa.infer.scorer.ScoreResult
    extras = result.to_json()
    return result.utterance, {k: extras[k] for k in ("uncertainty", "problems") if k in extras}


class BodyTooLarge(StarletteHTTPException):
    """Raised from `receive` once a body without (or with a lying) Content-Length passes the limit.

    An HTTPException, so that FastAPI's form parsing re-raises it as it is (other errors there
    become a generic 400) and the handler below answers 413 in the API's error shape.
    """


class BodyLimit:
    """Refuse request bodies over `max_bytes`: from Content-Length before reading, else while reading."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        mb = self.max_bytes / 2**20
        message = f"the upload is over the {mb:g} MB limit: send one sentence of at most 30 s"
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await error_response(413, "too_large", message)(scope, receive, send)
            return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            msg = await receive()
            seen += len(msg.get("body", b""))
            if seen > self.max_bytes:
                raise BodyTooLarge(413, message)
            return msg

        await self.app(scope, limited_receive, send)


_STATUS_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "too_large"}


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, e: ApiError) -> JSONResponse:
        return error_response(e.status, e.code, e.message, e.headers)

    @app.exception_handler(LmmApaError)
    async def _user_error(_: Request, e: LmmApaError) -> JSONResponse:
        if isinstance(e, ModelError):
            log.error("model error: %s", e)
            return error_response(500, "model_error", str(e))
        code = {AudioError: "audio_error", LexiconError: "unknown_word"}.get(type(e), "bad_request")
        return error_response(422, code, str(e))

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, e: RequestValidationError) -> JSONResponse:
        return error_response(422, "bad_request", "; ".join(_describe(err) for err in e.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, e: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(e.status_code, "http_error")
        return error_response(e.status_code, code, str(e.detail), getattr(e, "headers", None))

    @app.exception_handler(Exception)
    async def _bug(_: Request, e: Exception) -> JSONResponse:
        log.exception("unexpected error while handling a request")
        return error_response(500, "internal", f"internal error ({type(e).__name__}); see the server log")


_FIELD_HELP = {
    "audio": "no audio file: send the recording as the multipart form field 'audio'",
    "text": "no text: send the sentence that was read as the form field 'text'",
}


def _describe(err: dict[str, Any]) -> str:
    field = str(err.get("loc", ("", ""))[-1])
    if err.get("type") == "missing" and field in _FIELD_HELP:
        return _FIELD_HELP[field]
    return f"{field}: {err.get('msg', 'invalid')}"
