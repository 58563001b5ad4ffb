"""The web API's errors: one JSON shape for all of them, `{"error": {"code", "message"}}`
(`schemas.ErrorResponse`), the handlers that give it, and the request body limit (413)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lmm_apa.errors import AudioError, LexiconError, LmmApaError, ModelError
from lmm_apa.interfaces.web.schemas import ErrorResponse

log = logging.getLogger("lmm_apa.web")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = ErrorResponse.model_validate({"error": {"code": code, "message": message}})
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


# The error answers of `POST /score`, for its OpenAPI schema.
ERROR_RESPONSES = {
    code: {"model": ErrorResponse, "description": what}
    for code, what in {
        413: "Upload too large (`too_large`).",
        422: "Bad input: `bad_request`, `audio_error` or `unknown_word`; the message says which.",
        503: "Busy (`busy`, with Retry-After) or no model loaded (`not_ready`).",
    }.items()
}


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


def add_error_handlers(app: FastAPI) -> None:
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
