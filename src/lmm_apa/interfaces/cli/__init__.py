"""Entry point of the `lmm-apa` command. Each sub-module adds its commands to `app`."""

import sys

from lmm_apa.errors import LmmApaError

# Importing a command module registers its commands on `app`.
from lmm_apa.interfaces.cli import (
    data_cmd,  # noqa: E402,F401
    evaluate_cmd,  # noqa: E402,F401
    model_cmd,  # noqa: E402,F401
    score_cmd,  # noqa: E402,F401
    serve_cmd,  # noqa: E402,F401
    train_cmd,  # noqa: E402,F401
)
from lmm_apa.interfaces.cli.app import app


def main() -> None:
    try:
        app()
    except LmmApaError as e:
        from rich.console import Console

        Console(stderr=True).print(f"[bold red]error:[/] {e}")
        sys.exit(2)
