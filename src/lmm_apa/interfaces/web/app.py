"""The HTTP API and practice page: `POST /score` (audio + sentence -> scores), `GET /health`, `GET /`.

Without a sentence, `POST /score` transcribes the recording (`lmm_apa.infer.transcribe`; injected as
`create_app(transcriber=...)`, Whisper-base by default, loaded on first use) and scores it against
the transcript. `phones=ipa` adds IPA, `scale=100` puts every score on 0-100 (`lmm_apa.data`).
`?format=csv` (or `Accept: text/csv`) answers as `lmm-apa score --format csv` writes: one row per word
(`interfaces.csv_rows`); errors stay JSON. Every response's `meta.whisper` says whose Whisper-base
weights heard it (`create_app(whisper=...)`, `lmm_apa.models.provenance`).

Requests are scored by `lmm_apa.infer.request`, the driver `lmm-apa score` runs too, so that both
give the same results. The scorer is injected (`create_app(scorer_factory=...)`) and built once, at
startup, so tests run this very app with a small model and `lmm-apa serve` runs it with the real one.
Every error answers with one JSON shape, `{"error": {"code", "message"}}` (`web.errors`):

- 413 `too_large`: body over `max_upload_bytes` (refused from Content-Length before reading it);
- 422 `bad_request` (missing field, empty or too-long text), `audio_error` (not audio, corrupt,
  silent, too long: `load_audio`'s message), `unknown_word` (naming the word);
- 503 `busy` (queue full, with Retry-After) or `not_ready` (no model loaded).
"""

from __future__ import annotations

import io
import logging
import uuid
from collections.abc import Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import anyio
import numpy as np
from fastapi import FastAPI, File, Form, Header, Query, UploadFile
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles

from lmm_apa import __version__
from lmm_apa.data.audio import SAMPLE_RATE, load_audio
from lmm_apa.data.records import Utterance
from lmm_apa.errors import LmmApaError
from lmm_apa.infer.policy import result_meta
from lmm_apa.infer.request import Assessed, Item, Transcribe, as_asked, assess_many, assess_one
from lmm_apa.interfaces.web.errors import ERROR_RESPONSES, ApiError, BodyLimit, add_error_handlers
from lmm_apa.interfaces.web.feedback import hints
from lmm_apa.interfaces.web.gate import QueueFull, ScoringGate
from lmm_apa.interfaces.web.schemas import Health, Scale, ScoreMeta, ScoreResponse

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
    # Dynamic batching (gate.py): waiting requests scored together, up to max_batch at a time; a
    # request that finds the model idle waits batch_window s for others (10 ms: unnoticeable).
    max_batch: int = 8
    batch_window: float = 0.01


@dataclass
class _Service:
    """What the routes share: the scorer (once loaded), the queue in front of it and the settings."""

    model_name: str
    limits: Limits
    gate: ScoringGate
    transcribe: Transcribe | None  # None: Whisper-base (`lmm_apa.infer.request`)
    whisper: dict[str, Any] | None
    scorer: Scorer | None = None
    score_batch: Callable[[Sequence[Item]], list[Assessed | LmmApaError]] = field(init=False)

    def __post_init__(self) -> None:
        # One function object for every request: the gate batches the items of the same one (`is`).
        self.score_batch = self._score_batch

    def _score_batch(self, items: Sequence[Item]) -> list[Assessed | LmmApaError]:
        """Requests with a sentence, scored together (`Scorer.assess_texts`); per item its result
        or its error."""
        return assess_many(self.scorer, items)


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
    gate = ScoringGate(
        max_queue=limits.max_queue,
        queue_timeout=limits.queue_timeout,
        max_batch=limits.max_batch,
        batch_window=limits.batch_window,
    )
    service = _Service(model_name, limits, gate, transcriber, whisper)

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        service.scorer = await anyio.to_thread.run_sync(scorer_factory)
        log.info("scorer %r loaded", model_name)
        try:
            yield
        finally:
            service.scorer = None
            gate.shutdown()

    app = FastAPI(
        title="lmm-apa",
        summary="Pronunciation assessment of read English sentences (Speechocean762 scales).",
        version=__version__,
        lifespan=lifespan,
        # Swagger UI and ReDoc load their scripts from a CDN, which this offline app must not need;
        # the schema itself stays at /openapi.json.
        docs_url=None,
        redoc_url=None,
    )
    app.state.gate = gate  # its queue and batch sizes, for /health, tests and load checks
    app.add_middleware(BodyLimit, max_bytes=limits.max_upload_bytes)
    add_error_handlers(app)
    _add_score_route(app, service)
    _add_pages(app, service)
    return app


def _add_score_route(app: FastAPI, service: _Service) -> None:
    @app.post(
        "/score",
        response_model=ScoreResponse,
        response_model_exclude_none=True,
        responses={200: _CSV_RESPONSE, **ERROR_RESPONSES},
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
        scorer = service.scorer
        if scorer is None:
            raise ApiError(503, "not_ready", "the model is not loaded yet: try again shortly")
        sentence = None  # None: transcribe
        if text is not None and text.strip():
            sentence = await anyio.to_thread.run_sync(_check_text, text, service.limits.max_text_chars)
        wave, assessed, seconds = await _assess(service, scorer, await audio.read(), audio.filename, sentence)
        body = {
            **assessed.result,
            "feedback": [h.model_dump() for h in hints(assessed.utterance)],
            "meta": ScoreMeta(
                model=service.model_name,
                audio_seconds=len(wave) / SAMPLE_RATE,
                scoring_seconds=seconds,
                whisper=service.whisper,
                policy=result_meta(scorer, service.model_name).get("policy"),
            ).model_dump(),
        }
        response = ScoreResponse.model_validate(as_asked(body, ipa=phones == "ipa", scale=int(scale)))
        if output_format == "csv" or (output_format is None and _asks_for_csv(accept)):
            return _csv_response(response, audio.filename or "upload", ipa=phones == "ipa")
        return response


async def _assess(
    service: _Service, scorer: Scorer, data: bytes, filename: str | None, sentence: str | None
) -> tuple[np.ndarray, Assessed, float]:
    """Decode and score one upload in its turn (`gate`): (wave, its scores, seconds of scoring).

    Requests with a sentence batch with the others waiting when the scorer can batch them;
    unscripted ones (transcribed first) go one at a time.
    """
    gate = service.gate
    batched = sentence is not None and callable(getattr(scorer, "assess_texts", None))
    try:
        gate.admit(batched=batched)
    except QueueFull as e:
        raise _busy(e) from None
    try:
        wave = await anyio.to_thread.run_sync(_decode, data, filename, service.limits.max_seconds)
        utt_id = f"web-{uuid.uuid4().hex[:8]}"
        if batched:
            assessed, seconds = await gate.run_batched(service.score_batch, (utt_id, wave, sentence))
        else:
            assessed, seconds = await gate.run(
                lambda: assess_one(scorer, wave, sentence, utt_id, service.transcribe)
            )
    except QueueFull as e:
        raise _busy(e) from None
    finally:
        gate.release()
    log.info("%s scored in %.2f s: %r", utt_id, seconds, assessed.utterance.text)
    return wave, assessed, seconds


def _busy(e: QueueFull) -> ApiError:
    return ApiError(503, "busy", str(e), {"Retry-After": str(e.retry_after)})


def _add_pages(app: FastAPI, service: _Service) -> None:
    """/health, /examples, the practice page and its static files."""

    @app.get("/health", response_model=Health, summary="Is the model loaded; how full is the queue")
    async def health() -> Health:
        loaded = service.scorer is not None
        return Health(
            status="ok" if loaded else "loading",
            model=service.model_name,
            model_loaded=loaded,
            in_flight=service.gate.in_flight,
            waiting=service.gate.waiting,
            max_queue=service.gate.max_queue,
        )

    @app.get("/examples", response_model=list[str], summary="Example sentences to practise")
    async def examples() -> list[str]:
        return list(EXAMPLE_SENTENCES)

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html")

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")


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


def _decode(data: bytes, filename: str | None, max_seconds: float) -> np.ndarray:
    if not data:
        return load_audio(data)  # raises "audio is empty (0 bytes)"
    upload = io.BytesIO(data)
    upload.name = filename or "the upload"  # so that load_audio's messages name the user's file
    return load_audio(upload, max_seconds=max_seconds)
