"""`lmm-apa train --config FILE [--set section.key=value ...]`: LoRA + SimPO (+ lambda * CE)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lmm_apa.interfaces.cli.app import app
from lmm_apa.interfaces.cli.options import Precision


@app.command("train")
def train(
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", "-c", help="YAML run config (see configs/); defaults for anything it omits."
        ),
    ] = None,
    overrides: Annotated[
        list[str] | None,
        typer.Option("--set", "-s", help="Override a config value, e.g. --set train.lr=5e-5 (repeatable)."),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option("--resume", help="Continue from the latest checkpoint in train.output_dir (if any)."),
    ] = False,
    stop_after: Annotated[
        int | None, typer.Option(min=1, help="End this invocation after N optimizer steps (resume later).")
    ] = None,
    show_config: Annotated[
        bool, typer.Option("--show-config", help="Print the resolved config and exit.")
    ] = False,
    list_options: Annotated[
        bool,
        typer.Option("--list-options", help="List every config field with its default and reason, and exit."),
    ] = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar with ETA.")] = True,
    precision: Annotated[
        Precision | None,
        typer.Option(
            help="auto | fp32 | bf16 autocast of the forward and backward (sets train.precision; "
            "auto: bf16 on CUDA or a CPU with bf16 matrix instructions)."
        ),
    ] = None,
) -> None:
    """Fine-tune a backbone's LoRA adapter and projector on Speechocean762 (the paper's recipe)."""
    import yaml

    from lmm_apa.train.config import describe, load_config

    if list_options:
        typer.echo(describe())
        return
    overrides = list(overrides or [])
    if precision is not None:
        overrides.append(f"train.precision={precision.value}")
    cfg = load_config(config, overrides)
    if show_config:
        typer.echo(yaml.safe_dump(cfg.to_dict(), sort_keys=False))
        return

    from rich.console import Console

    from lmm_apa.distributed import close_process_group
    from lmm_apa.train.loop import train as run_training

    console = Console()
    result = run_training(cfg, resume=resume, progress=progress, stop_after=stop_after)
    close_process_group()  # not on an error: a barrier there would wait for a process that died
    if not result.main_process:  # the main process reports for all of them
        return
    if result.steps and result.final_adapter.exists() and not stop_after:
        console.print(f"trained {result.steps} steps; adapter: [bold]{result.final_adapter}[/]")
    else:
        console.print(f"stopped at step {result.steps}; continue with --resume")
    console.print(f"log: {result.output_dir / 'log.jsonl'}")
