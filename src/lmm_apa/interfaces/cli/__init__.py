"""Entry point of the `lmm-apa` command. Each sub-module adds its commands to `app`."""

import os
import sys
import warnings

from lmm_apa.errors import LmmApaError

# Importing a command module registers its commands on `app`.
from lmm_apa.interfaces.cli import (
    align_cmd,  # noqa: E402,F401
    data_cmd,  # noqa: E402,F401
    evaluate_cmd,  # noqa: E402,F401
    model_cmd,  # noqa: E402,F401
    score_cmd,  # noqa: E402,F401
    serve_cmd,  # noqa: E402,F401
    train_cmd,  # noqa: E402,F401
)
from lmm_apa.interfaces.cli.app import app


def main() -> None:
    # Library chatter (weight-loading bars, deprecation notes) is not for the user of a CLI.
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    warnings.filterwarnings("ignore", category=FutureWarning)
    try:
        app()
    except LmmApaError as e:
        _fail(str(e))
    except OSError as e:
        # A path the user gave that cannot be read or written (a folder that cannot be made, no
        # permission, a full disk): its name and why, as any other user error. Without a file name
        # it is not about a path, so it stays a traceback.
        if e.filename is None:
            raise
        _fail(f"{e.strerror or e}: {e.filename}")


def _fail(message: str) -> None:
    from lmm_apa.interfaces.cli.output import make_console

    make_console(stderr=True).print(f"[bold red]error:[/] {message}")  # unwrapped in a log
    sys.exit(2)
