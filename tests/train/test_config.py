import dataclasses
from pathlib import Path

import pytest
import yaml

from lmm_apa.train.config import SECTIONS, ConfigError, RunConfig, describe, load_config

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def test_defaults_are_the_papers():
    cfg = RunConfig()
    t = cfg.train
    assert (t.lr, t.epochs, t.warmup_ratio, t.batch_size, t.grad_accum) == (1e-4, 3, 0.1, 1, 8)
    assert (t.loss_type, t.beta, t.gamma, t.ce_weight) == ("simpo", 2.0, 0.5, 1.0)
    assert cfg.model.lora_rank == 8


def test_every_field_has_help():
    for cls in SECTIONS.values():
        for f in dataclasses.fields(cls):
            assert f.metadata.get("help"), f"{cls.__name__}.{f.name} has no help"
    assert "train.lr = 0.0001" in describe()


def test_yaml_and_overrides(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("train:\n  lr: 3.0e-4\n  epochs: 1\ndata:\n  task: word\n")
    cfg = load_config(p, ["train.lr=5e-5", "data.limit=4", "model.adapter_init=null", "train.loss_type=ce"])
    # "5e-5" is a string to YAML 1.1; the loader turns it into the field's float.
    assert cfg.train.lr == 5e-5 and isinstance(cfg.train.lr, float)
    assert cfg.train.epochs == 1 and cfg.data.task == "word" and cfg.data.limit == 4
    assert cfg.train.loss_type == "ce"


def test_saved_config_round_trips(tmp_path):
    cfg = load_config(None, ["train.beta=2.5", "data.n_rejected=3"])
    path = cfg.save(tmp_path / "config.yaml")
    assert load_config(path) == cfg
    assert yaml.safe_load(path.read_text())["train"]["beta"] == 2.5


@pytest.mark.parametrize(
    "override, message",
    [
        ("train.lr=-1", "train.lr"),
        ("train.loss_type=dpo", "loss_type"),
        ("data.task=paragraph", "data.task"),
        ("train.nope=1", "unknown key"),
        ("optim.lr=1", "unknown config section"),
        ("train.lr", "section.key=value"),
        ("train.grad_accum=abc", "train.grad_accum"),
        ("data.n_rejected=0", "n_rejected"),
        ("data.answer_inputs=scores", "answer_inputs"),
    ],
)
def test_bad_values_raise_config_error(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(None, [override])


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_configs_load_and_say_how_to_run(path):
    cfg = load_config(path)
    first = path.read_text().splitlines()[0]
    assert first.startswith("#") and "lmm-apa train --config" in path.read_text()
    assert cfg.train.output_dir
