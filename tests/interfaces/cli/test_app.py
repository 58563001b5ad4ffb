"""The `lmm-apa` typer app: a group of commands, every command module registered on it."""

from typer.testing import CliRunner

from lmm_apa.interfaces.cli import app

COMMANDS = ("score", "evaluate", "train", "serve", "data", "model", "align")


def test_without_a_command_it_shows_the_help_and_the_commands():
    result = CliRunner().invoke(app, [])
    assert result.exit_code in (0, 2)
    assert "Usage" in result.output
    for command in COMMANDS:
        assert command in result.output


def test_an_unknown_command_is_a_usage_error():
    result = CliRunner().invoke(app, ["grade"])
    assert result.exit_code == 2
    assert "grade" in result.output


def test_help_names_the_tool():
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "pronunciation" in result.output
