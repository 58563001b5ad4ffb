"""`lmm-apa serve`: the practice page and HTTP API on one port."""

from __future__ import annotations

from typing import Annotated

import typer

from lmm_apa.interfaces.cli.app import app
from lmm_apa.interfaces.cli.options import (
    MODE_HELP,
    LmmShare,
    LogLevel,
    Mode,
    Precision,
    PrecisionOption,
    WhisperDir,
    whisper_in_use,
)


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on (0.0.0.0: every interface).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    model: Annotated[
        str,
        typer.Option(
            help="'default' (the shipped model), 'zero-shot', an adapter folder from `lmm-apa train`, "
            "or a Qwen2-Audio model folder ('evidence': the aligner's evidence readout alone, no LMM)."
        ),
    ] = "default",
    mode: Annotated[Mode, typer.Option(help=f"Scoring mode: {MODE_HELP}")] = Mode.onepass,
    precision: PrecisionOption = Precision.auto,
    lmm_share: LmmShare = None,
    max_batch: Annotated[
        int, typer.Option(min=1, help="Waiting requests scored together in one batch (dynamic batching).")
    ] = 8,
    max_queue: Annotated[
        int, typer.Option(min=0, help="Requests that may wait for the model; more are refused with 503.")
    ] = 8,
    log_level: Annotated[LogLevel, typer.Option(help="uvicorn log level.")] = LogLevel.info,
    whisper_dir: WhisperDir = None,
) -> None:
    """Serve the pronunciation practice page at http://HOST:PORT/ and its API (POST /score, GET /health).

    The model is loaded once, before the server starts listening, so a missing model is reported
    here rather than on the first request. Requests that wait together are scored together (up to
    --max-batch); API schema at /openapi.json.
    """
    from lmm_apa.infer.scorer import load_scorer
    from lmm_apa.interfaces.web import Limits, create_app
    from lmm_apa.interfaces.web.server import run

    typer.echo(f"loading scorer {model!r} ({mode.value})...", err=True)
    # Loaded here, not in the app's lifespan, so a ModelError reaches the CLI as a clean message.
    scorer = load_scorer(model, mode=mode.value, precision=precision.value, lmm_share=lmm_share)
    if scorer.lmm is not None and scorer.lmm.precision is not None:
        typer.echo(f"precision: {scorer.lmm.precision}", err=True)
    limits = Limits(max_queue=max_queue, max_batch=max_batch)
    web_app = create_app(lambda: scorer, model_name=model, limits=limits, whisper=whisper_in_use())
    typer.echo(f"open http://{host}:{port}/ (Ctrl+C to stop)", err=True)
    run(web_app, host=host, port=port, log_level=log_level.value)
