"""`lmm-apa score`'s views and formats, in-process with a stand-in scorer (no model): unscripted
speech, --phones ipa, --scale 100, --format csv, and output that survives a pipe."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from typer.testing import CliRunner

import lmm_apa.infer.scorer as scorer_module
import lmm_apa.infer.transcribe as transcribe_module
from lmm_apa.errors import LmmApaError
from lmm_apa.interfaces.cli.app import app
from lmm_apa.interfaces.csv_rows import columns
from tests.interfaces.cli.helpers import BEAR_TEXT, StandInScorer, StandInTranscriber, json_lines


@pytest.fixture
def bear_path(corpus_dir) -> str:
    return str(corpus_dir / "WAVE" / "SPEAKER0001" / "000010011.flac")


@pytest.fixture
def transcriber(monkeypatch) -> StandInTranscriber:
    t = StandInTranscriber()
    monkeypatch.setattr(scorer_module, "load_scorer", lambda *a, **k: StandInScorer())
    monkeypatch.setattr(transcribe_module, "default_transcriber", lambda: t)
    return t


def invoke(*args: str):
    return CliRunner().invoke(app, ["score", *args])


def test_json_keeps_the_corpus_scales_unless_asked(transcriber, bear_path):
    plain = json_lines(invoke(bear_path, "--text", BEAR_TEXT, "--json").stdout)[0]
    assert "scale" not in plain and "reference" not in plain and plain["accuracy"] == 7.3
    done = invoke(bear_path, "--text", BEAR_TEXT, "--json", "--scale", "100")
    assert done.exit_code == 0, done.output
    scaled = json_lines(done.stdout)[0]
    assert scaled["scale"] == 100 and scaled["accuracy"] == 73.0 and scaled["completeness"] == 100.0
    assert scaled["words"][0]["accuracy"] == 90.0 and scaled["words"][0]["phones-accuracy"] == [100.0, 75.0]
    assert scaled["words"][0]["start"] == plain["words"][0]["start"]  # times are not scores
    assert transcriber.calls == 0  # --text given: nothing transcribed


def test_report_on_0_100(transcriber, bear_path):
    done = invoke(bear_path, "--text", BEAR_TEXT, "--scale", "100")
    assert done.exit_code == 0, done.output
    assert "accuracy 0-100" in done.stdout
    we = next(line for line in done.stdout.splitlines() if line.strip().startswith("WE "))
    assert we.split()[:6] == ["WE", "0.10-0.40", "s", "90", "100", "85"]  # no error: blank cell
    assert "IY0 75" in we


def test_ipa_in_json_and_report(transcriber, bear_path):
    line = json_lines(invoke(bear_path, "--text", BEAR_TEXT, "--json", "--phones", "ipa").stdout)[0]
    bear = line["words"][3]
    assert bear["phones"] == ["B", "EH0", "R"] and bear["phones-ipa"] == ["b", "ɛ", "ɹ"]
    assert bear["ipa"] == "bɛɹ" and bear["phones-heard-ipa"] == [None, None, None]
    report = invoke(bear_path, "--text", BEAR_TEXT, "--phones", "ipa").stdout
    assert "phones, IPA" in report and "/bɛɹ/" in report and "ɹ 2.0" in report and "EH0" not in report


def test_unscripted_is_scored_against_its_transcript(transcriber, bear_path):
    done = invoke(bear_path, "--json")
    assert done.exit_code == 0, done.output
    line = json_lines(done.stdout)[0]
    assert line["reference"] == "transcribed" and line["text"] == BEAR_TEXT
    assert "completeness" not in line and line["accuracy"] == 7.3
    assert [w["text"] for w in line["words"]] == BEAR_TEXT.split()
    report = invoke(bear_path).stdout
    assert '(transcribed)  "WE CALL IT BEAR"' in report
    assert transcriber.calls == 2


def test_no_speech_is_a_clear_failure(transcriber, bear_path):
    transcriber.text = None
    done = invoke(bear_path, "--json")
    assert done.exit_code == 1
    assert "no speech found" in done.stderr and "Traceback" not in done.output


def test_csv_one_row_per_word_to_a_file_and_to_stdout(transcriber, bear_path, tmp_path):
    manifest = tmp_path / "m.csv"
    with manifest.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerows([["audio", "text", "utt_id"], [bear_path, BEAR_TEXT, "bear"],
                     ["missing.flac", "HELLO", "gone"], [bear_path, "", "free"]])  # fmt: skip
    out = tmp_path / "scores.csv"
    done = invoke("--manifest", str(manifest), "--out", str(out), "--phones", "ipa")
    assert done.exit_code == 1  # one failed; the others are written
    with out.open(newline="") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == columns(ipa=True)
        rows = list(reader)
    bear = [r for r in rows if r["utt_id"] == "bear"]
    assert [r["word"] for r in bear] == BEAR_TEXT.split() and [r["word_index"] for r in bear] == list("0123")
    first = bear[0]
    assert first["sentence_accuracy"] == "7.3" and first["sentence_completeness"] == "10.0"
    assert first["word_accuracy"] == "9.0" and first["start"] == "0.1" and first["end"] == "0.4"
    assert first["error_type"] == "none" and first["phones"] == "W IY0"
    assert first["phones_accuracy"] == "2.0 1.5"
    assert first["phones_heard"] == "- -" and first["phones_ipa"] == "w i" and first["reference"] == "given"
    (gone,) = [r for r in rows if r["utt_id"] == "gone"]
    assert "not found" in gone["error"] and gone["word"] == ""
    free = [r for r in rows if r["utt_id"] == "free"]
    assert len(free) == 4 and {r["reference"] for r in free} == {"transcribed"}
    assert {r["sentence_completeness"] for r in free} == {""}

    done = invoke(bear_path, "--text", BEAR_TEXT, "--format", "csv", "--scale", "100")
    assert done.exit_code == 0, done.output
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert len(rows) == 4 and rows[0]["scale"] == "100" and rows[0]["word_accuracy"] == "90.0"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--text", "  "], "--text is empty"),
        (["--format", "csv", "--json"], "CSV to stdout"),
    ],
)
def test_bad_options_are_refused(transcriber, bear_path, args, message):
    done = invoke(bear_path, *args)
    assert done.exit_code != 0 and message in str(done.exception)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'["bear.flac", "WE CALL IT BEAR"]\n', "m.jsonl:1: not a JSON object"),
        (b"{not json\n", "m.jsonl:1: not JSON"),
        (b'{"text": "WE CALL IT BEAR"}\n', "row 1 has no 'audio' field"),
        (b'{"audio": "\xff\xfe"}\n', "is not UTF-8 text"),
    ],
)
def test_a_bad_manifest_is_a_message_not_a_traceback(transcriber, tmp_path, content, message):
    manifest = tmp_path / "m.jsonl"
    manifest.write_bytes(content)
    done = invoke("--manifest", str(manifest))
    assert done.exit_code != 0 and message in str(done.exception)
    assert isinstance(done.exception, LmmApaError)


def test_out_is_a_file_and_its_folder_is_made(transcriber, bear_path, tmp_path):
    done = invoke(bear_path, "--text", BEAR_TEXT, "--out", str(tmp_path))
    assert isinstance(done.exception, LmmApaError) and "is a folder" in str(done.exception)
    out = tmp_path / "new" / "scores.jsonl"
    done = invoke(bear_path, "--text", BEAR_TEXT, "--out", str(out))
    assert done.exit_code == 0, done.output
    assert json.loads(out.read_text())["accuracy"] == 7.3


@pytest.mark.parametrize(
    ("args", "choices"),
    [
        (["--scale", "50"], "'10', '100'"),
        (["--phones", "xsampa"], "'arpabet', 'ipa'"),
        (["--format", "xlsx"], "'jsonl', 'csv'"),
        (["--mode", "fast"], "'onepass', 'twopass', 'generate'"),
        (["--precision", "fp16"], "'auto', 'fp32', 'bf16'"),
    ],
)
def test_a_choice_not_offered_is_refused_before_the_model_loads(monkeypatch, bear_path, args, choices):
    """typer refuses it (exit 2, naming the choices): the model is never loaded."""
    monkeypatch.setattr(scorer_module, "load_scorer", lambda *a, **k: pytest.fail("the model was loaded"))
    done = invoke(bear_path, "--text", BEAR_TEXT, *args)
    said = " ".join(re.sub("[│╭╮╰╯─]", " ", done.output).split())  # out of rich's box, unwrapped
    assert done.exit_code == 2 and args[0] in said and choices in said


def test_tables_are_whole_in_a_pipe(transcriber, bear_path):
    """CliRunner's stdout is not a terminal: nothing is cut to 80 columns (rich's default there)."""
    done = invoke(bear_path, "--text", "WE CALL IT BEAR UNDERSTANDABLY", "--phones", "ipa")
    assert done.exit_code == 0, done.output
    lines = done.stdout.splitlines()
    assert max(len(line) for line in lines) > 80 and "…" not in done.stdout
    word = next(line for line in lines if line.strip().startswith("UNDERSTANDABLY"))
    assert word.rstrip().endswith("i 2.0")  # the last phone of the longest row is there
    assert "\x1b[" not in done.stdout  # and no colour codes
