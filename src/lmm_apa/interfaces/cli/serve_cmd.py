"""`lmm-apa serve`: the practice page and HTTP API on one port."""

from __future__ import annotations

import typer

from lmm_apa.interfaces.cli.app import app
from lmm_apa.interfaces.cli.options import WhisperDir, precision_option, whisper_in_use

LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


@app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (0.0.0.0: every interface)."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port to listen on."),
    model: str = typer.Option(
        "default",
        "--model",
        help="'default' (the shipped model), 'zero-shot', an adapter folder from `lmm-apa train`, "
        "or a Qwen2-Audio model folder ('evidence': the aligner's evidence readout alone, no LMM).",
    ),
    mode: str = typer.Option(
        "onepass", "--mode", help="Scoring mode: onepass (expected scores), twopass or generate."
    ),
    precision: str = typer.Option(
        "auto",
        "--precision",
        callback=precision_option,
        help="auto (bf16 on CUDA or a CPU with bf16 matrix instructions, else fp32), fp32 or bf16.",
    ),
    max_batch: int = typer.Option(
        8, "--max-batch", min=1, help="Waiting requests scored together in one batch (dynamic batching)."
    ),
    max_queue: int = typer.Option(
        8, "--max-queue", min=0, help="Requests that may wait for the model; more are refused with 503."
    ),
    log_level: str = typer.Option("info", "--log-level", help="uvicorn log level."),
    whisper_dir: WhisperDir = None,
) -> None:
    """Serve the pronunciation practice page at http://HOST:PORT/ and its API (POST /score, GET /health).

    The model is loaded once, before the server starts listening, so a missing model is reported
    here rather than on the first request. Requests that wait together are scored together (up to
    --max-batch); API schema at /openapi.json.
    """
    from lmm_apa.infer.scorer import MODES, load_scorer
    from lmm_apa.interfaces.web import Limits, create_app
    from lmm_apa.interfaces.web.server import run

    if mode not in MODES:
        raise typer.BadParameter(f"{mode!r} is not one of {', '.join(MODES)}", param_hint="--mode")
    if log_level not in LOG_LEVELS:
        raise typer.BadParameter(
            f"{log_level!r} is not one of {', '.join(LOG_LEVELS)}", param_hint="--log-level"
        )
    typer.echo(f"loading scorer {model!r} ({mode})...", err=True)
    # Loaded here, not in the app's lifespan, so a ModelError reaches the CLI as a clean message.
    scorer = load_scorer(model, mode=mode, precision=precision)
    if scorer.lmm is not None and scorer.lmm.precision is not None:
        typer.echo(f"precision: {scorer.lmm.precision}", err=True)
    limits = Limits(max_queue=max_queue, max_batch=max_batch)
    web_app = create_app(lambda: scorer, model_name=model, limits=limits, whisper=whisper_in_use())
    typer.echo(f"open http://{host}:{port}/ (Ctrl+C to stop)", err=True)
    run(web_app, host=host, port=port, log_level=log_level)
