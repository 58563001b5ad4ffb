"""`lmm-apa evaluate --model`: run a model over a corpus split and evaluate what it predicts."""

import json

from typer.testing import CliRunner

from lmm_apa.interfaces.cli import app


def test_evaluate_runs_the_model_and_writes_predictions_and_metrics(tiny_adapter, corpus_dir, tmp_path):
    preds, metrics = tmp_path / "p.jsonl", tmp_path / "m.json"
    args = ["evaluate", "--data", str(corpus_dir), "--split", "dev", "--limit", "4", "--n-boot", "0"]
    args += ["--model", str(tiny_adapter), "--predictions-out", str(preds), "--metrics-out", str(metrics)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in preds.read_text().splitlines()]
    assert len(lines) == 4 and all(len(line["words"]) > 0 for line in lines)
    m = json.loads(metrics.read_text())
    assert m["n_utterances"] == 4 and m["missing"]["utterances"] == 0
    assert m["config"]["mode"] == "onepass" and m["parse_failures"] == 0
    # Every phone of the four utterances got a prediction from the one pass.
    assert m["missing"]["phones"] == 0 and m["phone"]["accuracy"]["n"] > 10
