"""User mistakes end as one line on stderr and exit code 2, never a traceback (`cli.main`)."""

import sys

import pytest

from lmm_apa.interfaces.cli import main


def run(monkeypatch, capsys, *args: str) -> str:
    monkeypatch.setattr(sys, "argv", ["lmm-apa", *args])
    with pytest.raises(SystemExit) as exc:
        main()
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


def test_an_output_folder_that_cannot_be_made(corpus_dir, monkeypatch, capsys):
    err = run(monkeypatch, capsys, "data", "build", "--data", str(corpus_dir), "--out", "/proc/nope/x.jsonl")
    assert err.startswith("error: No such file or directory: /proc/nope")


def test_a_missing_corpus(monkeypatch, capsys, tmp_path):
    err = run(monkeypatch, capsys, "data", "build", "--data", str(tmp_path / "nowhere"), "--out", "x.jsonl")
    assert "Speechocean762 folder not found" in err
