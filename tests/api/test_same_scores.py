"""One recording, three ways in: `lmm-apa score --json`, `POST /score` and `Assessor.score` give the same
scores. The three share the loaded model (the CLI's `load_scorer` is pointed at it), so what is
compared is each interface's path from the recording to the numbers, not three loads of one model."""

import inspect
import json

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from lmm_apa import Assessor
from lmm_apa.interfaces.cli import app
from lmm_apa.interfaces.cli.score_cmd import score as score_command
from lmm_apa.interfaces.web.app import create_app

TEXT = "WE CALL IT BEAR"


def _numbers(result: dict) -> dict:
    """The scores and times of a result, whichever interface wrote it (the web API leaves out nulls)."""
    keep = ("accuracy", "stress", "total", "phones-accuracy", "start", "end", "error_type", "phones-heard")
    return {
        **{a: result.get(a) for a in ("accuracy", "completeness", "fluency", "prosodic", "total")},
        "words": [{k: w.get(k) for k in ("text", "phones", *keep)} for w in result["words"]],
        "insertions": result.get("insertions") or [],
    }


@pytest.mark.parametrize(("phones", "scale"), [("arpabet", 10), ("ipa", 100)])
def test_cli_http_and_python_give_the_same_scores(assessor, bear_flac, monkeypatch, phones, scale):
    python = assessor.score(bear_flac, text=TEXT, phones=phones, scale=scale).to_dict()

    monkeypatch.setattr("lmm_apa.infer.scorer.load_scorer", lambda *a, **k: assessor._scorer)
    args = ["score", str(bear_flac), "--text", TEXT, "--json", "--phones", phones, "--scale", str(scale)]
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0, done.output
    cli = json.loads([line for line in done.stdout.splitlines() if line.startswith("{")][-1])

    with TestClient(create_app(lambda: assessor._scorer, model_name="default")) as client:
        response = client.post(
            "/score",
            files={"audio": ("bear.flac", bear_flac.read_bytes())},
            data={"text": TEXT, "phones": phones, "scale": str(scale)},
        )
    assert response.status_code == 200, response.text
    http = response.json()

    assert {k: v for k, v in python.items() if k != "meta"} == {k: v for k, v in cli.items() if k != "meta"}
    assert _numbers(http) == _numbers(python)
    assert python["meta"]["model"] == cli["meta"]["model"] == http["meta"]["model"]
    if phones == "ipa":
        assert [w["ipa"] for w in python["words"]] == [w["ipa"] for w in http["words"]]


def test_the_api_defaults_are_the_cli_defaults():
    cli = inspect.signature(score_command).parameters
    api = inspect.signature(Assessor).parameters
    for name in ("model", "mode", "listen", "precision"):
        assert api[name].default == cli[name].default, name
    score = inspect.signature(Assessor.score).parameters
    # the CLI's choices are StrEnums ("10"), the API's scale an int (10): compared as the text typed
    assert str(score["phones"].default) == str(cli["phones"].default)
    assert str(score["scale"].default) == str(cli["scale"].default)
