import io

from rich.console import Console
from rich.table import Table

from lmm_apa.interfaces.cli.output import PIPE_WIDTH, heading, make_console


def test_a_pipe_gets_an_unlimited_colourless_console():
    console = make_console()  # pytest captures stdout: not a terminal
    assert console.width == PIPE_WIDTH
    assert console.color_system is None
    assert make_console(stderr=True).stderr


def test_tables_in_a_pipe_are_not_cut():
    out = io.StringIO()
    console = Console(file=out, width=PIPE_WIDTH, color_system=None)
    table = Table("word", "phones")
    table.add_row("W" * 150, "IY0 " * 40)
    console.print(table)
    assert "W" * 150 in out.getvalue() and "…" not in out.getvalue()


def test_heading_is_a_rule_at_a_terminal_and_plain_text_elsewhere():
    piped = io.StringIO()
    heading(Console(file=piped, width=PIPE_WIDTH, color_system=None), "Sentence")
    assert piped.getvalue() == "Sentence\n"
    terminal = io.StringIO()
    heading(Console(file=terminal, width=40, color_system=None), "Sentence")
    line = terminal.getvalue().rstrip("\n")
    assert "Sentence" in line and "─" in line and len(line) == 40
