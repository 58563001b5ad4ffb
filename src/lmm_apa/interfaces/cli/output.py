"""Consoles for the CLI's tables that survive a pipe.

rich cuts its output to 80 columns when the stream is not a terminal (``senten…``, ``159…``). Written
to a file, a pipe or another program, the tables are written whole instead: no width limit and no
colour codes. At a terminal nothing changes (the terminal's width, colours).
"""

from __future__ import annotations

from rich.console import Console

# Wide enough for any table the CLI prints (a word row with its phones is ~250 columns); a table is
# as wide as its content, never padded to this.
PIPE_WIDTH = 10_000


def make_console(stderr: bool = False) -> Console:
    """A Console on stdout (or stderr): the terminal's width at a terminal, no width limit elsewhere."""
    console = Console(stderr=stderr)
    if console.is_terminal:
        return console
    return Console(stderr=stderr, width=PIPE_WIDTH, color_system=None)


def heading(console: Console, title: str) -> None:
    """A rule with ``title`` at a terminal; the plain title elsewhere (a rule would fill the width)."""
    if console.width < PIPE_WIDTH:
        console.rule(title)
    else:
        console.print(title)
