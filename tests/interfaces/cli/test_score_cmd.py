"""`lmm-apa score` end to end on a tiny adapter: report, JSON, and a batch with bad items in it."""

import json
import subprocess
import sys

import pytest


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "from lmm_apa.interfaces.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_score_prints_a_report_and_json(tiny_adapter, bear):
    audio, text = bear
    done = run_cli("score", str(audio), "--text", text, "--model", str(tiny_adapter))
    assert done.returncode == 0, done.stderr
    assert "BEAR" in done.stdout and "EH0" in done.stdout and "fluency" in done.stdout
    done = run_cli("score", str(audio), "--text", text, "--model", str(tiny_adapter), "--json")
    assert done.returncode == 0, done.stderr
    line = json.loads(done.stdout.strip().splitlines()[-1])
    assert line["utt_id"] == "000010011" and len(line["words"]) == 4
    # the aligner ran: every word has its span, error type and per-phone spans and heard phones
    for w in line["words"]:
        assert w["error_type"] in ("none", "omission", "mispronunciation")
        assert len(w["phones-start"]) == len(w["phones-end"]) == len(w["phones-heard"]) == len(w["phones"])
        if w["error_type"] != "omission":
            assert 0 <= w["start"] < w["end"]
    assert isinstance(line["insertions"], list)


def test_batch_reports_each_failure_and_finishes_the_rest(tiny_adapter, bear, tmp_path):
    audio, text = bear
    (tmp_path / "notaudio.wav").write_text("this is not audio")
    manifest = tmp_path / "batch.jsonl"
    rows = [
        {"audio": str(audio), "text": text, "utt_id": "good"},
        {"audio": "missing.flac", "text": "hello", "utt_id": "missing"},
        {"audio": "notaudio.wav", "text": "hello", "utt_id": "corrupt"},
        {"audio": str(audio), "text": "we call it 你好", "utt_id": "unknown-word"},
    ]
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out.jsonl"
    done = run_cli("score", "--manifest", str(manifest), "--out", str(out), "--model", str(tiny_adapter))
    assert done.returncode == 1  # something failed
    assert "Traceback" not in done.stderr
    results = {r["utt_id"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert set(results) == {"good", "missing", "corrupt", "unknown-word"}
    assert "error" not in results["good"] and len(results["good"]["words"]) == 4
    for bad in ("missing", "corrupt", "unknown-word"):
        assert results[bad]["error"]
    assert "3 of 4 failed" in done.stderr


@pytest.mark.parametrize(
    "args, message",
    # Without --text a recording is transcribed (unscripted speech); an empty one is a mistake.
    [(["score"], "nothing to score"), (["score", "x.wav", "--text", " "], "--text is empty")],
)
def test_usage_errors_are_messages_not_tracebacks(args, message):
    done = run_cli(*args)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
