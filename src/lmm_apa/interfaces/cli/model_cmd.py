"""`lmm-apa model build|info`: assemble the default backbone offline and show parameter counts."""

from pathlib import Path

import typer

from lmm_apa.interfaces.cli.app import app

model_app = typer.Typer(help="Build and inspect backbones.", no_args_is_help=True)
app.add_typer(model_app, name="model")


def _print_counts(path: Path, info: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{info.get('design', 'backbone')} backbone: {path}")
    table.add_column("part")
    table.add_column("parameters", justify="right")
    for part, n in info["parameters"].items():
        table.add_row(part.replace("_", " "), f"{n:,}  ({n / 1e6:.1f}M)")
    Console().print(table)


@model_app.command("build")
def build(
    out_dir: Path | None = typer.Option(
        None, "--out", help="where to write it (default: <cache>/backbones/default; $LMM_APA_CACHE)"
    ),
) -> None:
    """Assemble the default backbone (Whisper-base + projector + SmolLM2-135M), offline."""
    import time

    from lmm_apa.models.assemble import backbone_info, build_default_backbone

    start = time.perf_counter()
    path = build_default_backbone(out_dir)
    info = backbone_info(path)
    _print_counts(path, info)
    typer.echo(
        f"ready in {time.perf_counter() - start:.1f} s (build itself: {info.get('build_seconds', '?')} s)"
    )


@model_app.command("info")
def info(
    path: Path | None = typer.Argument(None, help="backbone folder (default: the built default backbone)"),
) -> None:
    """Parameter counts of a built backbone (or any Qwen2-Audio folder)."""
    from lmm_apa.errors import ModelError
    from lmm_apa.models.assemble import backbone_info
    from lmm_apa.paths import cache_dir

    path = path or cache_dir() / "backbones" / "default"
    if not path.exists():
        raise ModelError(f"no backbone at {path}: run `lmm-apa model build` first")
    _print_counts(path, backbone_info(path))
