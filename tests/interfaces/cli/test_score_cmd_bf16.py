"""`lmm-apa score --precision bf16` on a tiny adapter: the model it loads is bf16 and merged."""

import json

from typer.testing import CliRunner

from lmm_apa.interfaces.cli import app


def test_score_runs_in_bf16(tiny_adapter, bear, monkeypatch):
    import torch

    import lmm_apa.infer.scorer as scorer_module

    loaded = []
    real = scorer_module.load_scorer

    def spy(*args, **kwargs):
        loaded.append(real(*args, **kwargs))
        return loaded[-1]

    monkeypatch.setattr(scorer_module, "load_scorer", spy)
    audio, text = bear
    args = [
        "score",
        str(audio),
        "--text",
        text,
        "--model",
        str(tiny_adapter),
        "--json",
        "--precision",
        "bf16",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    line = result.output[result.output.index('{"utt_id"') :].splitlines()[0]  # after any progress bar
    assert len(json.loads(line)["words"]) == 4
    assert loaded[0].lmm.dtype == torch.bfloat16 and loaded[0].lmm.merged
    assert "precision: bf16" in result.output  # the choice is said (on stderr)
