"""`lmm-apa data build`: write the SimPO preference training set as JSON Lines."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lmm_apa.interfaces.cli.app import app
from lmm_apa.interfaces.cli.options import TRAIN_SPLIT_HELP, DevFraction, RejectedKind, Task, TrainSplit

data_app = typer.Typer(help="Build training data from Speechocean762.", no_args_is_help=True)
app.add_typer(data_app, name="data")


@data_app.command("build")
def build(
    data: Annotated[Path, typer.Option(help="Speechocean762 folder (Kaldi layout or local HF copy).")],
    out: Annotated[Path, typer.Option(help="JSONL file to write.")],
    split: Annotated[TrainSplit, typer.Option(help=TRAIN_SPLIT_HELP)] = TrainSplit.train,
    task: Annotated[
        Task, typer.Option(help="multi | sentence | word | phone | all (one line per task).")
    ] = Task.multi,
    n_rejected: Annotated[
        int, typer.Option(min=1, help="Rejected answers per example (a list in the JSONL when > 1).")
    ] = 1,
    rejected_kind: Annotated[
        RejectedKind,
        typer.Option(
            help="perturb (scores moved by 2-4 points, the paper's) | swap (two words' or phones' scores "
            "traded: the wrong order)."
        ),
    ] = RejectedKind.perturb,
    seed: Annotated[int, typer.Option(help="Seed of the simulated rejected answers.")] = 0,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N utterances.")] = None,
    dev_fraction: DevFraction = 0.1,
    split_seed: Annotated[int, typer.Option(help="Seed of the dev split.")] = 0,
    unsaid_rate: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=1.0,
            help="Share of utterances that also get a copy whose text was not (all) spoken: another "
            "sentence's text, a word swapped, or the recording cut short (lmm_apa.tasks.unsaid).",
        ),
    ] = 0.0,
) -> None:
    """Write prompt / chosen (human scores) / rejected (perturbed scores) for each utterance."""
    from rich.console import Console
    from rich.table import Table

    from lmm_apa.tasks.answer import TASKS
    from lmm_apa.tasks.build import build_dataset

    tasks = TASKS if task is Task.all else (task.value,)
    summary = build_dataset(
        data,
        out,
        split=split.value,
        tasks=tasks,
        n_rejected=n_rejected,
        seed=seed,
        limit=limit,
        dev_fraction=dev_fraction,
        split_seed=split_seed,
        unsaid_rate=unsaid_rate,
        rejected_kind=rejected_kind.value,
    )
    table = Table(title=f"{out} ({split.value})")
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
