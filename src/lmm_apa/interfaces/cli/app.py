"""The `lmm-apa` typer app. Command modules register on it; heavy imports stay inside commands."""

import typer

app = typer.Typer(
    name="lmm-apa",
    help="Assess English pronunciation with fine-tuned audio-language models.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """Keeps `lmm-apa` a group of commands even while only one is registered."""
