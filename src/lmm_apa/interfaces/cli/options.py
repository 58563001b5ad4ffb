"""Options several commands share."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def use_whisper_dir(folder: Path | None) -> Path | None:
    """Point this process at the user's Whisper-base folder, checked at once (None: `$LMM_APA_WHISPER_DIR`
    or the packaged weights). Run for every invocation, so a setting never outlives its command."""
    from lmm_apa.models.parts import set_whisper_dir

    set_whisper_dir(folder)
    return folder


def precision_option(value: str) -> str:
    """`--precision`'s callback: `check_precision`, its error shown as a usage error (exit status 2)."""
    from lmm_apa.errors import ConfigError
    from lmm_apa.models.precision import check_precision

    try:
        return check_precision(value)
    except ConfigError as e:
        raise typer.BadParameter(str(e), param_hint="--precision") from None


WhisperDir = Annotated[
    Path | None,
    typer.Option(
        "--whisper-dir",
        callback=use_whisper_dir,
        help="A local CTranslate2 Whisper-base folder to use instead of the packaged weights (e.g. a "
        "download of Systran/faster-whisper-base; checked to be Whisper-base). Default: "
        "$LMM_APA_WHISPER_DIR, else the packaged weights.",
    ),
]


def whisper_in_use() -> dict | None:
    """The Whisper-base weights in use, for every result's metadata (`provenance.WhisperWeights`);
    said on stderr when they are the user's own folder, and whether they are the bytes the shipped
    models were trained on."""
    from lmm_apa.interfaces.cli.output import make_console
    from lmm_apa.models.parts import chosen_whisper_dir
    from lmm_apa.models.provenance import whisper_meta

    meta = whisper_meta()
    if meta is not None and chosen_whisper_dir() is not None:
        same = (
            "the same bytes the shipped models were trained on"
            if meta["as_trained"]
            else "[yellow]not the bytes the shipped models were trained on: scores may differ from "
            "the measured ones[/]"
        )
        make_console(stderr=True).print(f"Whisper-base: {meta['source']}, sha256 {meta['sha256']}: {same}")
    return meta
