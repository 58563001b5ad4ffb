"""`lmm-apa model build|info`: assemble the default backbone offline, show whose weights it is made
of (source, sha256), the scoring policy a model scores under, and its parameter counts."""

from pathlib import Path
from typing import Annotated

import typer

from lmm_apa.interfaces.cli.app import app
from lmm_apa.interfaces.cli.options import WhisperDir

model_app = typer.Typer(help="Build and inspect backbones.", no_args_is_help=True)
app.add_typer(model_app, name="model")


def _print_counts(path: Path, info: dict) -> None:
    from rich.table import Table

    from lmm_apa.interfaces.cli.output import make_console

    table = Table(title=f"{info.get('design', 'backbone')} backbone: {path}")
    table.add_column("part")
    table.add_column("parameters", justify="right")
    for part, n in info["parameters"].items():
        table.add_row(part.replace("_", " "), f"{n:,}  ({n / 1e6:.1f}M)")
    make_console().print(table)


@model_app.command("build")
def build(
    out_dir: Annotated[
        Path | None,
        typer.Option("--out", help="where to write it (default: <cache>/backbones/default; $LMM_APA_CACHE)"),
    ] = None,
) -> None:
    """Assemble the default backbone (Whisper-base + projector + SmolLM2-135M), offline."""
    import time

    from lmm_apa.models.assemble import build_default_backbone
    from lmm_apa.models.backbone import backbone_info

    start = time.perf_counter()
    path = build_default_backbone(out_dir)
    info = backbone_info(path)
    _print_counts(path, info)
    typer.echo(
        f"ready in {time.perf_counter() - start:.1f} s (build itself: {info.get('build_seconds', '?')} s)"
    )


def _print_weights() -> None:
    from rich.table import Table

    from lmm_apa.interfaces.cli.output import make_console
    from lmm_apa.models.provenance import weights_provenance

    table = Table(title="weights: source and sha256")
    for col in ("part", "source", "file", "MB", "sha256"):
        table.add_column(col, overflow="fold")
    for w in weights_provenance():
        size = f"{w.size / 1e6:.1f}" if w.size is not None else "-"
        table.add_row(w.part, w.source, str(w.path or "not installed"), size, w.sha256 or "-")
    console = make_console()
    console.print(table)
    console.print(_whisper_note())


def _whisper_note() -> str:
    """Whose Whisper-base is in use, set against what the shipped weights were trained on."""
    from lmm_apa.errors import ModelError
    from lmm_apa.models.provenance import OFFICIAL_WHISPER, whisper_weights

    try:
        w = whisper_weights()
    except ModelError as e:
        return f"Whisper-base: {e}"
    official = f"{OFFICIAL_WHISPER[0]} (revision {OFFICIAL_WHISPER[1][:12]})"
    lines = [
        f"Whisper-base in use: {w.source}",
        f"  model.bin sha256 {w.sha256}: "
        + (f"the sha256 published for {official}" if w.official else f"not the one published for {official}"),
    ]
    for part, trained in w.trained_sha256.items():
        same = "the same" if trained == w.sha256 else "DIFFERENT: scores may differ from the measured ones"
        lines.append(f"  shipped {part} weights trained on {trained}: {same}")
    return "\n".join(lines)


def _print_policy(model: str) -> None:
    """The scoring policy ``model`` scores under: the LMM's shares, the cap, the thresholds."""
    from rich.table import Table

    from lmm_apa.infer.policy import POLICY_JSON
    from lmm_apa.infer.scorer import model_policy
    from lmm_apa.interfaces.cli.output import make_console

    policy = model_policy(model)
    table = Table(title=f"scoring policy of --model {model}")
    table.add_column("setting")
    table.add_column("value")
    shares = ", ".join(f"{g} {v:g}" for g, v in policy.lmm_share.items())
    table.add_row("LMM share (rest: the evidence readout)", shares)
    table.add_row("completeness cap on sentence scores", "on" if policy.completeness_cap else "off")
    base, per_phone = policy.omission_skip_base, policy.omission_skip_per_phone
    table.add_row("omission: cost of an unsaid word", f"{base:g} + {per_phone:g} a phone")
    table.add_row("mispronunciation: word accuracy below", f"{policy.mispronunciation_below:g}")
    table.add_row("heard phone: phone accuracy below", f"{policy.heard_below:g}")
    console = make_console()
    console.print(table)
    if policy.source == "built-in default":
        console.print(
            f"no {POLICY_JSON} beside its weights: the built-in default (the LMM's own scores, merged "
            "with what the aligner heard; the shipped thresholds)"
        )
    else:
        console.print(f"from: {policy.source}")
    console.print("override the shares with --lmm-share (score, evaluate, serve) or Assessor(lmm_share=...)")


@model_app.command("info")
def info(
    path: Annotated[
        Path | None, typer.Argument(help="backbone folder (default: the built default backbone)")
    ] = None,
    model: Annotated[
        str,
        typer.Option(
            help="Show the scoring policy of this model: default, zero-shot, evidence, or an adapter folder."
        ),
    ] = "default",
    whisper_dir: WhisperDir = None,
) -> None:
    """Whose weights the default models use (source, sha256), the scoring policy of --model, and a
    built backbone's parameter counts."""
    from lmm_apa.errors import ModelError
    from lmm_apa.models.backbone import backbone_info
    from lmm_apa.paths import cache_dir

    _print_weights()
    _print_policy(model)
    path = path or cache_dir() / "backbones" / "default"
    if not path.exists():
        raise ModelError(f"no backbone at {path}: run `lmm-apa model build` first")
    _print_counts(path, backbone_info(path))
