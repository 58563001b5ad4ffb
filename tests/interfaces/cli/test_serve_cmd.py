"""`lmm-apa serve` with the scorer and uvicorn stood in: what it loads and what it serves."""

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

import lmm_apa.infer.scorer as scorer_module
import lmm_apa.interfaces.web.server as server_module
from lmm_apa.errors import ModelError
from lmm_apa.interfaces.cli import app


class _Scorer:
    lmm = None
    mode = "onepass"


@pytest.fixture
def served(monkeypatch):
    calls = {}

    def load_scorer(model, mode, precision, lmm_share=None):
        calls["load"] = (model, mode, precision)
        calls["lmm_share"] = lmm_share
        if model == "missing":
            raise ModelError("no model at missing")
        return _Scorer()

    def run(web_app, host, port, log_level):
        calls["run"] = (web_app, host, port, log_level)

    monkeypatch.setattr(scorer_module, "load_scorer", load_scorer)
    monkeypatch.setattr(server_module, "run", run)
    return calls


def test_the_scorer_is_loaded_before_the_server_runs_with_the_options(served):
    args = ["serve", "--port", "8123", "--host", "0.0.0.0", "--max-queue", "3", "--max-batch", "2"]
    result = CliRunner().invoke(app, [*args, "--log-level", "warning"])
    assert result.exit_code == 0, result.output
    assert served["load"] == ("default", "onepass", "auto")
    web_app, host, port, log_level = served["run"]
    assert (host, port, log_level) == ("0.0.0.0", 8123, "warning")
    assert "open http://0.0.0.0:8123/" in result.output
    with TestClient(web_app) as client:
        health = client.get("/health").json()
    assert health["max_queue"] == 3 and health["model"] == "default" and health["model_loaded"]


def test_a_missing_model_fails_before_the_server_starts(served):
    result = CliRunner().invoke(app, ["serve", "--model", "missing"])
    assert result.exit_code != 0
    assert isinstance(result.exception, ModelError)
    assert "run" not in served


def test_a_port_out_of_range_is_refused(served):
    result = CliRunner().invoke(app, ["serve", "--port", "70000"])
    assert result.exit_code == 2
    assert "load" not in served


def test_lmm_share_reaches_the_scorer_and_a_bad_one_is_refused_before_loading(served):
    result = CliRunner().invoke(app, ["serve", "--lmm-share", "sentence=0.5"])
    assert result.exit_code == 0, result.output
    assert served["lmm_share"] == "sentence=0.5"
    served.clear()
    result = CliRunner().invoke(app, ["serve", "--lmm-share", "1.5"])
    assert result.exit_code == 2 and "between 0 and 1" in result.output
    assert "load" not in served
