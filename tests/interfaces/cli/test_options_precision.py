"""`--precision` on score, evaluate, serve and train: parsed the same way, passed on, refused when unknown."""

import re

import pytest
from typer.testing import CliRunner

from lmm_apa.interfaces.cli import app


@pytest.mark.parametrize(
    "command",
    [
        ["score", "x.flac", "--text", "hello"],
        ["evaluate", "--data", "nowhere"],
        ["serve"],
        ["train", "--show-config"],
    ],
)
def test_an_unknown_precision_is_refused_before_anything_loads(command):
    result = CliRunner().invoke(app, [*command, "--precision", "fp16"])
    assert result.exit_code == 2, result.output
    said = " ".join(re.sub("[│╭╮╰╯─]", " ", result.output).split())  # out of rich's box, unwrapped
    assert "'fp16' is not one of 'auto', 'fp32', 'bf16'" in said


def test_train_precision_sets_the_config():
    result = CliRunner().invoke(app, ["train", "--show-config", "--precision", "bf16"])
    assert result.exit_code == 0, result.output
    assert "precision: bf16" in result.output
    default = CliRunner().invoke(app, ["train", "--show-config"])
    assert "precision: auto" in default.output
