"""`lmm-apa evaluate`: score a predictions file against the labels of a split."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lmm_apa.errors import DataError
from lmm_apa.interfaces.cli.app import app
from lmm_apa.interfaces.cli.options import (
    SPLIT_HELP,
    DevFraction,
    LmmShare,
    Mode,
    ModeOption,
    Precision,
    PrecisionOption,
    Split,
    WhisperDir,
    whisper_in_use,
)
from lmm_apa.interfaces.cli.output import make_console


@app.command("evaluate")
def evaluate(
    data: Annotated[Path, typer.Option(help="Speechocean762 folder (Kaldi layout or local HF copy).")],
    split: Annotated[Split, typer.Option(help=SPLIT_HELP)] = Split.test,
    predictions: Annotated[
        Path | None,
        typer.Option(
            help="Predictions JSONL (corpus schema + utt_id) to evaluate. Without it, --model is run."
        ),
    ] = None,
    model: Annotated[
        str,
        typer.Option(
            help="Model to run when no --predictions: default, zero-shot, evidence (the aligner alone), an "
            "adapter or a Qwen2-Audio folder."
        ),
    ] = "default",
    listen: Annotated[
        bool,
        typer.Option(help="Align the text first (omissions, completeness); --no-listen: the LMM alone."),
    ] = True,
    mode: ModeOption = Mode.onepass,
    precision: PrecisionOption = Precision.auto,
    lmm_share: LmmShare = None,
    predictions_out: Annotated[
        Path | None, typer.Option(help="Write the model's predictions (JSONL) here.")
    ] = None,
    metrics_out: Annotated[Path | None, typer.Option(help="Write metrics.json here.")] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Evaluate only N utterances of the split: speakers in a --seed shuffled order, each "
            "speaker's utterances in utt_id order, taken round robin (deterministic, spread over speakers).",
        ),
    ] = None,
    dev_fraction: DevFraction = 0.1,
    seed: Annotated[int, typer.Option(help="Seed of the dev split and of the --limit sample.")] = 0,
    n_boot: Annotated[int, typer.Option(min=0, help="Speaker-bootstrap resamples for the CIs.")] = 1000,
    boot_seed: Annotated[int, typer.Option(help="Seed of the bootstrap resampling.")] = 0,
    whisper_dir: WhisperDir = None,
) -> None:
    """Evaluate a model or a predictions file: PCC, SCC (with its tie cap) and RMSE per aspect.

    Intervals are 95% percentile intervals of a bootstrap that resamples speakers. Utterances,
    words and phones of the split without a prediction are counted and reported.
    """
    from lmm_apa.data.splits import load_split
    from lmm_apa.eval.report import evaluate_file, spread_sample

    split = split.value
    if predictions is not None and not predictions.is_file():
        # Checked before the labels load, so a typo fails fast.
        raise DataError(f"predictions file not found: {predictions}")
    if predictions is not None and lmm_share is not None:
        raise DataError("--lmm-share applies to a --model run, not to a --predictions file")
    labels = load_split(data, split, dev_fraction=dev_fraction, seed=seed)
    if limit is not None:
        labels = spread_sample(labels, limit, seed=seed)
    config = {"data": str(data), "split": split, "limit": limit, "dev_fraction": dev_fraction, "seed": seed}
    if predictions is not None:
        console = make_console()  # the table whole when stdout is not a terminal
        evaluate_file(
            labels, predictions, metrics_out, config=config, n_boot=n_boot, seed=boot_seed, console=console
        )
        return
    loading = {"mode": mode.value, "listen": listen, "precision": precision.value, "lmm_share": lmm_share}
    _evaluate_model(labels, model, loading, predictions_out, metrics_out, config, n_boot, boot_seed)


def _evaluate_model(
    labels: list,
    model: str,
    loading: dict,
    predictions_out: Path | None,
    metrics_out: Path | None,
    config: dict,
    n_boot: int,
    boot_seed: int,
) -> None:
    """Run the model on the split's audio, then evaluate its predictions like a predictions file.
    ``loading``: `load_scorer`'s mode, listen, precision and lmm_share.

    Under several launched processes each scores its share of the recordings and the main process
    alone writes and reports (`lmm_apa.distributed.Workers`).
    """
    import time

    from lmm_apa.distributed import Workers
    from lmm_apa.eval.predictions import write_predictions
    from lmm_apa.eval.report import evaluate_predictions, print_metrics_table, write_metrics
    from lmm_apa.infer.batch import predict_utterances
    from lmm_apa.infer.policy import result_meta
    from lmm_apa.infer.scorer import load_scorer

    console = make_console()  # the table whole when stdout is not a terminal
    workers = Workers()
    scorer = load_scorer(model, **loading)
    if workers.is_main and scorer.lmm is not None and scorer.lmm.precision is not None:
        console.print(f"precision: {scorer.lmm.precision}")
    start = time.perf_counter()
    batch = predict_utterances(scorer, labels, workers=workers)
    seconds = time.perf_counter() - start
    if workers.world > 1:
        make_console(stderr=True).print(
            f"process {workers.rank} of {workers.world}: scored {batch.scored_here} utterances"
        )
    if not workers.is_main:
        return
    for utt_id, why in batch.errors.items():
        console.print(f"[red]not scored[/] {utt_id}: {why}")
    whisper = whisper_in_use()  # whose Whisper-base weights: in metrics.json and every predictions line
    meta = result_meta(scorer, model, whisper)
    if predictions_out is not None:
        write_predictions(list(batch.predictions.values()), predictions_out, meta=meta)
    config = {
        **config,
        "model": model,
        "mode": loading["mode"],
        "precision": loading["precision"],
        "dtype": str(scorer.lmm.dtype).removeprefix("torch.") if scorer.lmm is not None else None,
        "task": scorer.task,
        "scoring_seconds": round(seconds, 1),
        "processes": workers.world,
        "whisper": whisper,
        "policy": meta.get("policy"),
    }
    metrics = evaluate_predictions(
        labels,
        batch.predictions,
        n_boot=n_boot,
        seed=boot_seed,
        config=config,
        parse_failures=batch.parse_failures,
    )
    metrics["not_scored"] = batch.errors
    if metrics_out is not None:
        write_metrics(metrics, metrics_out)
    print_metrics_table(metrics, console=console)
    console.print(f"{len(batch.predictions)} utterances scored in {seconds:.1f} s")
