"""`lmm-apa train`: the CLI on the tiny backbone (fast) and on the real default backbone (slow)."""

import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from lmm_apa.interfaces.cli import app
from lmm_apa.train.log import read_log

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


def _write_config(path: Path, cfg) -> Path:
    path.write_text("# lmm-apa train --config this.yaml\n" + yaml.safe_dump(cfg.to_dict()))
    return path


def test_cli_trains_stops_and_resumes_on_the_tiny_backbone(tiny_cfg, tmp_path):
    cfg = tiny_cfg("train.max_steps=2", "train.save_every=1")
    config = _write_config(tmp_path / "tiny.yaml", cfg)
    first = runner.invoke(app, ["train", "--config", str(config), "--stop-after", "1", "--no-progress"])
    assert first.exit_code == 0, first.output
    assert "continue with --resume" in first.output
    second = runner.invoke(app, ["train", "--config", str(config), "--resume", "--no-progress"])
    assert second.exit_code == 0, second.output
    out = Path(cfg.train.output_dir)
    assert (out / "final" / "lmm_apa_adapter.json").is_file()
    steps = [r["step"] for r in read_log(out / "log.jsonl") if "loss" in r]
    assert steps == [1, 2]


def test_cli_shows_config_and_rejects_bad_overrides(tmp_path):
    shown = runner.invoke(app, ["train", "--set", "train.beta=2.5", "--show-config"])
    assert shown.exit_code == 0 and yaml.safe_load(shown.output)["train"]["beta"] == 2.5
    listed = runner.invoke(app, ["train", "--list-options"])
    assert "train.gamma = 0.5" in listed.output


@pytest.mark.slow
def test_cpu_smoke_config_trains_the_default_backbone_and_resumes(corpus_dir, tmp_path):
    """The acceptance run: configs/cpu_smoke.yaml on real utterances, interrupted after step 1, resumed.
    About 1-3 minutes on 2 cores (so `slow`; the tiny test above is its fast twin)."""
    out = tmp_path / "smoke"
    common = ["train", "--config", str(REPO / "configs" / "cpu_smoke.yaml"), "--no-progress",
              "--set", f"train.output_dir={out}", "--set", f"data.corpus_dir={corpus_dir}"]  # fmt: skip
    first = runner.invoke(app, [*common, "--stop-after", "1"])
    assert first.exit_code == 0, first.output
    assert (out / "checkpoints" / "step-0000001" / "trainer_state.pt").is_file()
    second = runner.invoke(app, [*common, "--resume"])
    assert second.exit_code == 0, second.output
    log = read_log(out / "log.jsonl")
    train_rows = [r for r in log if "loss" in r]
    assert [r["step"] for r in train_rows] == [1, 2]
    names = ("loss", "nll_loss", "rewards/chosen", "rewards/rejected", "rewards/margins")
    names += ("rewards/accuracies", "logps/chosen", "logps/rejected", "lr", "epoch", "samples_per_s")
    assert all(name in train_rows[-1] for name in names)
    assert any("eval_loss" in r for r in log)
    assert (out / "final" / "projector.safetensors").is_file()
    shutil.rmtree(out)
