"""Options several commands share, and every choice an option offers as an `enum.Enum`.

Choices are enums so that typer refuses a wrong value (listing the right ones) before anything
loads: a typo in ``--mode`` used to surface only once the model had loaded. The library's choice
lists are built from its own tuples (none of those modules loads torch).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, get_args

import typer

from lmm_apa.api.assessor import Phones
from lmm_apa.data.splits import SPLITS
from lmm_apa.infer.scorer import MODES
from lmm_apa.models.precision import PRECISIONS
from lmm_apa.tasks.answer import TASKS
from lmm_apa.tasks.build import TRAINING_SPLITS
from lmm_apa.tasks.pairs import REJECTED_KINDS


def _choices(name: str, values: tuple[str, ...]) -> type[StrEnum]:
    """An enum whose values are the library's own tuple: the one source of each choice list."""
    return StrEnum(name, {v.replace("-", "_"): v for v in values})


Mode = _choices("Mode", MODES)
Precision = _choices("Precision", PRECISIONS)
Split = _choices("Split", SPLITS)
TrainSplit = _choices("TrainSplit", TRAINING_SPLITS)  # every split but test (never trained on)
Task = _choices("Task", (*TASKS, "all"))  # all: one example per task
RejectedKind = _choices("RejectedKind", REJECTED_KINDS)


# `score --format`: JSON Lines (the corpus schema) or CSV (`score_cmd.CsvSink`).
OutputFormat = _choices("OutputFormat", ("jsonl", "csv"))
PhoneSymbols = _choices("PhoneSymbols", get_args(Phones))
# uvicorn's log levels (the keys of `uvicorn.config.LOG_LEVELS`), written out so that starting the
# CLI does not import uvicorn.
LogLevel = _choices("LogLevel", ("critical", "error", "warning", "info", "debug", "trace"))


class Scale(StrEnum):
    """The scales of a result: the corpus' own (10) or all on 0-100. Members are named for what the
    scale is (`Scale.corpus`), which `_choices` (members named as their values) cannot give."""

    corpus = "10"
    hundred = "100"


# Help texts several commands share, so that they say the same thing everywhere.
SPLIT_HELP = (
    "test | train | dev (a speaker-disjoint tenth of train, for model selection) | train-minus-dev "
    "(train without dev) | dev25 (a speaker-disjoint fifth of train: the larger dev split, holding "
    "every dev speaker) | train-minus-dev25 (train without dev25; the aligner's training split)."
)
TRAIN_SPLIT_HELP = SPLIT_HELP.removeprefix("test | ")
MODE_HELP = "onepass (expected scores), twopass or generate."
PRECISION_HELP = "auto (bf16 on CUDA or a CPU with bf16 matrix instructions, else fp32), fp32 or bf16."
DEV_FRACTION_HELP = (
    "Fraction of train speakers held out as dev, strictly between 0 and 1 (the dev and "
    "train-minus-dev splits; dev25 is always a fifth)."
)


def check_fraction(value: float) -> float:
    """A share strictly between 0 and 1 (`train_dev_split` needs speakers on both sides)."""
    if not 0.0 < value < 1.0:
        raise typer.BadParameter(f"{value:g} is not strictly between 0 and 1")
    return value


def check_lmm_share(value: str | None) -> str | None:
    """A valid ``--lmm-share`` (checked before the model loads); the scorer parses it again."""
    from lmm_apa.errors import ConfigError
    from lmm_apa.infer.policy import parse_share

    if value is not None:
        try:
            parse_share(value)
        except ConfigError as e:
            raise typer.BadParameter(str(e)) from None
    return value


def use_whisper_dir(folder: Path | None) -> Path | None:
    """Point this process at the user's Whisper-base folder, checked at once (None: `$LMM_APA_WHISPER_DIR`
    or the packaged weights). Run for every invocation, so a setting never outlives its command."""
    from lmm_apa.models.parts import set_whisper_dir

    set_whisper_dir(folder)
    return folder


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
LmmShare = Annotated[
    str | None,
    typer.Option(
        "--lmm-share",
        callback=check_lmm_share,
        help="The LMM's share in the blend with the aligner's evidence readout, overriding the model's "
        "scoring policy (`lmm-apa model info`): one number 0-1 for every level, or per level "
        "(sentence=0.3,word=0,phone=0.1; levels left out keep the policy's). 1: the LMM's own scores; "
        "0: the readout's.",
    ),
]
ModeOption = Annotated[Mode, typer.Option("--mode", help=MODE_HELP)]
PrecisionOption = Annotated[Precision, typer.Option("--precision", help=PRECISION_HELP)]
DevFraction = Annotated[
    float, typer.Option("--dev-fraction", callback=check_fraction, help=DEV_FRACTION_HELP)
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
