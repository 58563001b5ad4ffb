"""`lmm-apa evaluate`: score a predictions file against the labels of a split."""

from __future__ import annotations

from pathlib import Path

import typer

from lmm_apa.errors import DataError
from lmm_apa.interfaces.cli.app import app


@app.command("evaluate")
def evaluate(
    data: Path = typer.Option(..., "--data", help="Speechocean762 folder (Kaldi layout or local HF copy)."),
    split: str = typer.Option(
        "test",
        "--split",
        help="test | train | dev (speaker-disjoint dev part of train, for model selection) | "
        "train-minus-dev (train without dev).",
    ),
    predictions: Path | None = typer.Option(
        None, "--predictions", help="Predictions JSONL: one utterance a line, corpus schema + utt_id."
    ),
    metrics_out: Path | None = typer.Option(None, "--metrics-out", help="Write metrics.json here."),
    limit: int | None = typer.Option(
        None,
        "--limit",
        min=1,
        help="Evaluate only N utterances of the split: speakers in a --seed shuffled order, each "
        "speaker's utterances in utt_id order, taken round robin (deterministic, spread over speakers).",
    ),
    dev_fraction: float = typer.Option(
        0.1, "--dev-fraction", min=0.0, max=1.0, help="Fraction of train speakers held out as dev."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the dev split and of the --limit sample."),
    n_boot: int = typer.Option(1000, "--n-boot", min=0, help="Speaker-bootstrap resamples for the CIs."),
    boot_seed: int = typer.Option(0, "--boot-seed", help="Seed of the bootstrap resampling."),
) -> None:
    """Score a predictions file: PCC, SCC (with its tie cap) and RMSE per granularity and aspect.

    Intervals are 95% percentile intervals of a bootstrap that resamples speakers. Utterances,
    words and phones of the split without a prediction are counted and reported.
    """
    from lmm_apa.eval.report import SPLITS, evaluate_file, load_split_labels, spread_sample

    if predictions is None:
        raise DataError("--predictions is required: a JSONL file of predicted scores (see --help)")
    if split not in SPLITS:
        raise DataError(f"unknown --split {split!r}; choose one of {', '.join(SPLITS)}")
    if not predictions.is_file():
        # Checked before the labels load, so a typo fails fast.
        raise DataError(f"predictions file not found: {predictions}")
    labels = load_split_labels(data, split, dev_fraction=dev_fraction, seed=seed)
    if limit is not None:
        labels = spread_sample(labels, limit, seed=seed)
    config = {
        "data": str(data),
        "split": split,
        "limit": limit,
        "dev_fraction": dev_fraction,
        "seed": seed,
    }
    evaluate_file(labels, predictions, metrics_out, config=config, n_boot=n_boot, seed=boot_seed)
