"""The HTTP API and practice page: `POST /score` (audio + sentence -> scores), `GET /health`, `GET /`.

Without a sentence, `POST /score` transcribes the recording (`lmm_apa.infer.transcribe`; injected as
`create_app(transcriber=...)`, Whisper-base by default, loaded on first use) and scores it against
the transcript. `phones=ipa` adds IPA, `scale=100` puts every score on 0-100 (`lmm_apa.data`).
`?format=csv` (or `Accept: text/csv`) answers as `lmm-apa score --format csv` writes: one row per word
(`interfaces.csv_rows`); errors stay JSON. Every response's `meta.whisper` says whose Whisper-base
weights heard it (`create_app(whisper=...)`, `lmm_apa.models.provenance`).

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
from typing import Any, Literal, Protocol, runtime_checkable

import anyio
import numpy as np
from fastapi import FastAPI, File, Form, Header, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lmm_apa.data.audio import SAMPLE_RATE, load_audio
from lmm_apa.data.records import Utterance
from lmm_apa.errors import AudioError, LexiconError, LmmApaError, ModelError
from lmm_apa.interfaces.web.feedback import hints
from lmm_apa.interfaces.web.gate import QueueFull, ScoringGate
from lmm_apa.interfaces.web.schemas import ErrorResponse, Health, Scale, ScoreMeta, ScoreResponse

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
# 16 kHz mono wave -> what was said ("We call it bear."); raises AudioError when nothing was.
Transcribe = Callable[[np.ndarray], str]


@dataclass(frozen=True)
class Limits:
    # 10 MB: a 30 s, 16-bit stereo 48 kHz WAV is 5.8 MB; anything bigger is not one spoken sentence.
    max_upload_bytes: int = 10 * 1024 * 1024
    max_seconds: float = 30.0  # load_audio's default
    max_text_chars: int = 300
    max_queue: int = 8  # waiting requests; at ~1-2 s a request, the last one waits ~10-20 s
    queue_timeout: float = 120.0
    # Dynamic batching (gate.py): waiting requests scored together, up to max_batch at a time; a
    # request that finds the model idle waits batch_window s for others (10 ms: unnoticeable).
    max_batch: int = 8
    batch_window: float = 0.01


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
    scorer_factory: ScorerFactory,
    *,
    model_name: str = "default",
    limits: Limits | None = None,
    transcriber: Transcribe | None = None,
    whisper: dict[str, Any] | None = None,
) -> FastAPI:
    """The app; `scorer_factory()` runs once, at startup (a `TestClient` used as a context manager
    or uvicorn runs it). `transcriber` serves requests without a sentence (Whisper-base by default).
    `whisper`: whose Whisper-base weights the scorer uses (`provenance.whisper_meta()`), put into
    every response's meta (`lmm-apa serve` passes it; left out when None)."""
    limits = limits or Limits()
    transcribe = transcriber or _whisper_transcribe
    gate = ScoringGate(
        max_queue=limits.max_queue,
        queue_timeout=limits.queue_timeout,
        max_batch=limits.max_batch,
        batch_window=limits.batch_window,
    )
    holder: dict[str, Scorer] = {}

    def score_batch(items: list[tuple[np.ndarray, str, str]]) -> list[Any]:
        """Requests with a sentence, scored together (`Scorer.assess_texts`); per item its result
        or its error."""
        return _run_scorer_batch(holder["scorer"], items)

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
    app.state.gate = gate  # its queue and batch sizes, for /health, tests and load checks
    app.add_middleware(BodyLimit, max_bytes=limits.max_upload_bytes)
    _add_error_handlers(app)

    @app.post(
        "/score",
        response_model=ScoreResponse,
        response_model_exclude_none=True,
        responses={200: _CSV_RESPONSE, **_ERRORS},
        summary="Score a recording of a read sentence",
    )
    async def score(
        audio: UploadFile = File(..., description="The recording (WAV, FLAC, OGG or MP3), at most 30 s."),
        text: str | None = Form(
            None,
            description="The sentence that was read, e.g. 'WE CALL IT BEAR'. Left out or blank: "
            "unscripted speech; the recording is transcribed (Whisper-base) and scored against its "
            'transcript, and the response says `"reference": "transcribed"`.',
        ),
        phones: Literal["arpabet", "ipa"] = Form(
            "arpabet", description="'ipa': also each word and phone in IPA, stress marked (phones-ipa, ipa)."
        ),
        scale: Scale = Form(
            Scale.corpus,
            description="10: the corpus scales (sentence and word 0-10, phone 0-2); 100: every score on "
            "0-100 (sentence and word x10, phone x50).",
        ),
        output_format: Literal["json", "csv"] | None = Query(
            None,
            alias="format",
            description="json (the default) or csv: one row per word with its recording's scores, the "
            "columns of `lmm-apa score --format csv`. Left out: csv when the Accept header asks for "
            "text/csv, else json.",
        ),
        accept: str | None = Header(None, include_in_schema=False),
    ) -> ScoreResponse | Response:
        scorer = holder.get("scorer")
        if scorer is None:
            raise ApiError(503, "not_ready", "the model is not loaded yet: try again shortly")
        sentence = None  # None: transcribe
        if text is not None and text.strip():
            sentence = await anyio.to_thread.run_sync(_check_text, text, limits.max_text_chars)
        data = await audio.read()
        batched = sentence is not None and callable(getattr(scorer, "assess_texts", None))
        try:
            gate.admit(batched=batched)
        except QueueFull as e:
            raise ApiError(503, "busy", str(e), {"Retry-After": str(e.retry_after)}) from None
        try:
            wave = await anyio.to_thread.run_sync(_decode, data, audio.filename, limits.max_seconds)
            utt_id = f"web-{uuid.uuid4().hex[:8]}"
            if batched:
                (utt, extras), seconds = await gate.run_batched(score_batch, (wave, sentence, utt_id))
            else:
                (utt, extras), seconds = await gate.run(
                    lambda: (
                        _run_scorer(scorer, wave, sentence, utt_id)
                        if sentence is not None
                        else _run_unscripted(scorer, transcribe, wave, utt_id)
                    )
                )
        except QueueFull as e:
            raise ApiError(503, "busy", str(e), {"Retry-After": str(e.retry_after)}) from None
        finally:
            gate.release()
        log.info("%s scored in %.2f s: %r", utt_id, seconds, utt.text if sentence is None else sentence)
        body = {
            **utt.to_corpus_dict(),
            **extras,
            "feedback": [h.model_dump() for h in hints(utt)],
            "meta": ScoreMeta(
                model=model_name,
                audio_seconds=len(wave) / SAMPLE_RATE,
                scoring_seconds=seconds,
                whisper=whisper,
            ).model_dump(),
        }
        response = ScoreResponse.model_validate(_as_asked(body, ipa=phones == "ipa", scale=int(scale)))
        if output_format == "csv" or (output_format is None and _asks_for_csv(accept)):
            return _csv_response(response, audio.filename or "upload", ipa=phones == "ipa")
        return response

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


_CSV_RESPONSE = {
    "description": "The scores: JSON, or with format=csv (or Accept: text/csv) one CSV row per word.",
    "content": {
        "text/csv": {
            "schema": {"type": "string"},
            "example": "utt_id,audio,text,reference,scale,sentence_accuracy,...,word_index,word,...\r\n"
            "web-1a2b3c4d,bear.flac,WE CALL IT BEAR,given,10,7.3,...,0,WE,...\r\n",
        }
    },
}


def _asks_for_csv(accept: str | None) -> bool:
    """Accept names text/csv before (or without) JSON: `Accept: text/csv`, `text/csv, */*`."""
    types = [part.split(";")[0].strip().lower() for part in (accept or "").split(",")]
    if "text/csv" not in types:
        return False
    return "application/json" not in types or types.index("text/csv") < types.index("application/json")


def _csv_response(response: ScoreResponse, audio: str, ipa: bool) -> Response:
    """The response's rows as `lmm-apa score --format csv` writes them (same module, same columns)."""
    import csv

    from lmm_apa.interfaces.csv_rows import columns, word_rows

    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns(ipa), restval="", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(word_rows(response.model_dump(by_alias=True, exclude_none=True), audio))
    return Response(out.getvalue(), media_type="text/csv")


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


def _whisper_transcribe(wave: np.ndarray) -> str:
    from lmm_apa.infer.transcribe import default_transcriber

    return default_transcriber().transcribe(wave)


def _run_unscripted(
    scorer: Scorer, transcribe: Transcribe, wave: np.ndarray, utt_id: str
) -> tuple[Utterance, dict[str, Any]]:
    """Transcribe, then score against the transcript; no completeness (nothing was expected)."""
    from lmm_apa.infer.transcribe import TRANSCRIBED, transcript_reference

    sentence = transcript_reference(transcribe(wave))  # a word the lexicon refuses: 422 unknown_word
    if not sentence:
        raise AudioError("no speech found in the recording: nothing to transcribe and score")
    utt, extras = _run_scorer(scorer, wave, sentence, utt_id)

    if isinstance(extras.get("uncertainty"), dict):
        extras["uncertainty"].pop("completeness", None)
    return utt.model_copy(update={"completeness": None}), {**extras, "reference": TRANSCRIBED}


def _as_asked(body: dict[str, Any], ipa: bool, scale: int) -> dict[str, Any]:
    """The response body with IPA added and on 0-100, where asked (`lmm_apa.data.ipa`, `.scale100`)."""
    if ipa:
        from lmm_apa.data.ipa import add_ipa

        add_ipa(body)
    if scale == 100:
        from lmm_apa.data.scale100 import to_scale_100

        body = to_scale_100(body)
    return body


def _decode(data: bytes, filename: str | None, max_seconds: float) -> np.ndarray:
    if not data:
        return load_audio(data)  # raises "audio is empty (0 bytes)"
    upload = io.BytesIO(data)
    upload.name = filename or "the upload"  # so that load_audio's messages name the user's file
    return load_audio(upload, max_seconds=max_seconds)


# What a `ScoreResult.to_json()` adds to the corpus schema, passed on in the response.
_EXTRAS = ("uncertainty", "problems", "quality")


def _run_scorer(scorer: Scorer, wave: np.ndarray, text: str, utt_id: str) -> tuple[Utterance, dict[str, Any]]:
    """The scored utterance, and `uncertainty` / `problems` / `quality` where the scorer reports them."""
    assess = getattr(scorer, "assess_text", None)
    if not callable(assess):
        return scorer.score(wave, text, utt_id), {}
    result = assess(wave, text, utt_id)  # lmm_apa.infer.scorer.ScoreResult
    extras = result.to_json()
    return result.utterance, {k: extras[k] for k in _EXTRAS if k in extras}


def _run_scorer_batch(scorer: Any, items: list[tuple[np.ndarray, str, str]]) -> list[Any]:
    """`_run_scorer` for several requests at once; an item's error (LmmApaError) in its place."""
    out: list[Any] = []
    for result in scorer.assess_texts(items):
        if isinstance(result, LmmApaError):
            out.append(result)
            continue
        extras = result.to_json()
        out.append((result.utterance, {k: extras[k] for k in _EXTRAS if k in extras}))
    return out


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
