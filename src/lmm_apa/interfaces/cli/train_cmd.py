"""`lmm-apa train --config FILE [--set section.key=value ...]`: LoRA + SimPO (+ lambda * CE)."""

from __future__ import annotations

from pathlib import Path

import typer

from lmm_apa.interfaces.cli.app import app
from lmm_apa.interfaces.cli.options import precision_option


@app.command("train")
def train(
    config: Path | None = typer.Option(
        None, "--config", "-c", help="YAML run config (see configs/); defaults for anything it omits."
    ),
    overrides: list[str] = typer.Option(
        [], "--set", "-s", help="Override a config value, e.g. --set train.lr=5e-5 (repeatable)."
    ),
    resume: bool = typer.Option(
        False, "--resume", help="Continue from the latest checkpoint in train.output_dir (if any)."
    ),
    stop_after: int | None = typer.Option(
        None, "--stop-after", min=1, help="End this invocation after N optimizer steps (resume later)."
    ),
    show_config: bool = typer.Option(False, "--show-config", help="Print the resolved config and exit."),
    list_options: bool = typer.Option(
        False, "--list-options", help="List every config field with its default and reason, and exit."
    ),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar with ETA."),
    precision: str | None = typer.Option(
        None,
        "--precision",
        help="auto | fp32 | bf16 autocast of the forward and backward (sets train.precision; "
        "auto: bf16 on CUDA or a CPU with bf16 matrix instructions).",
    ),
) -> None:
    """Fine-tune a backbone's LoRA adapter and projector on Speechocean762 (the paper's recipe)."""
    import yaml

    from lmm_apa.train.config import describe, load_config

    if list_options:
        typer.echo(describe())
        return
    if precision is not None:
        overrides = [*overrides, f"train.precision={precision_option(precision)}"]
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
