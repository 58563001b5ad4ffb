"""`lmm-apa data build`: write the SimPO preference training set as JSON Lines."""

from __future__ import annotations

from pathlib import Path

import typer

from lmm_apa.interfaces.cli.app import app

data_app = typer.Typer(help="Build training data from Speechocean762.", no_args_is_help=True)
app.add_typer(data_app, name="data")

TASK_CHOICES = ("multi", "sentence", "word", "phone", "all")


@data_app.command("build")
def build(
    data: Path = typer.Option(..., "--data", help="Speechocean762 folder (Kaldi layout or local HF copy)."),
    out: Path = typer.Option(..., "--out", help="JSONL file to write."),
    split: str = typer.Option(
        "train",
        "--split",
        help="train | dev (speaker-disjoint dev part of train) | train-minus-dev (train without dev).",
    ),
    task: str = typer.Option(
        "multi", "--task", help="multi | sentence | word | phone | all (one line per task)."
    ),
    n_rejected: int = typer.Option(
        1, "--n-rejected", min=1, help="Rejected answers per example (a list in the JSONL when > 1)."
    ),
    rejected_kind: str = typer.Option(
        "perturb",
        "--rejected-kind",
        help="perturb (scores moved by 2-4 points, the paper's) | swap (two words' or phones' scores "
        "traded: the wrong order).",
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the simulated rejected answers."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Only the first N utterances."),
    dev_fraction: float = typer.Option(
        0.1, "--dev-fraction", min=0.0, max=1.0, help="Fraction of train speakers held out as dev."
    ),
    split_seed: int = typer.Option(0, "--split-seed", help="Seed of the dev split."),
    unsaid_rate: float = typer.Option(
        0.0,
        "--unsaid-rate",
        min=0.0,
        max=1.0,
        help="Share of utterances that also get a copy whose text was not (all) spoken: another "
        "sentence's text, a word swapped, or the recording cut short (lmm_apa.tasks.unsaid).",
    ),
) -> None:
    """Write prompt / chosen (human scores) / rejected (perturbed scores) for each utterance."""
    from rich.console import Console
    from rich.table import Table

    from lmm_apa.errors import DataError
    from lmm_apa.tasks.answer import TASKS
    from lmm_apa.tasks.build import build_dataset

    if task not in TASK_CHOICES:
        raise DataError(f"unknown --task {task!r}; choose one of {', '.join(TASK_CHOICES)}")
    tasks = TASKS if task == "all" else (task,)
    summary = build_dataset(
        data,
        out,
        split=split,
        tasks=tasks,
        n_rejected=n_rejected,
        seed=seed,
        limit=limit,
        dev_fraction=dev_fraction,
        split_seed=split_seed,
        unsaid_rate=unsaid_rate,
        rejected_kind=rejected_kind,
    )
    table = Table(title=f"{out} ({split})")
    table.add_column("examples", justify="right")
    table.add_column("tasks")
    table.add_column("mean prompt chars", justify="right")
    table.add_column("mean answer chars", justify="right")
    table.add_row(
        str(summary.count),
        ", ".join(f"{t} {n}" for t, n in summary.tasks.items()),
        f"{summary.mean_prompt_chars:.0f}",
        f"{summary.mean_answer_chars:.0f}",
    )
    Console().print(table)
