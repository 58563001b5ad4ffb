"""The single-process side of `train.sharded`: when FSDP is on, and the settings it refuses."""

import pytest

from lmm_apa.train import sharded


def test_fsdp_is_off_unless_the_launcher_asks(monkeypatch):
    monkeypatch.delenv("ACCELERATE_USE_FSDP", raising=False)
    assert not sharded.fsdp_requested()
    monkeypatch.setenv("ACCELERATE_USE_FSDP", "true")  # `accelerate launch`: distributed_type FSDP
    assert sharded.fsdp_requested()


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"FSDP_VERSION": "2"}, "fsdp_version 2"),
        ({"FSDP_AUTO_WRAP_POLICY": "SIZE_BASED_WRAP"}, "TRANSFORMER_BASED_WRAP"),
        ({"ACCELERATE_MIXED_PRECISION": "bf16"}, "mixed_precision"),
    ],
)
def test_settings_the_trainer_does_not_drive_are_refused_by_name(monkeypatch, env, named):
    monkeypatch.setenv("ACCELERATE_USE_FSDP", "true")
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(ValueError, match=named):
        sharded.plugin()


def test_the_committed_settings_are_accepted(monkeypatch):
    monkeypatch.setenv("ACCELERATE_USE_FSDP", "true")
    monkeypatch.setenv("FSDP_AUTO_WRAP_POLICY", "TRANSFORMER_BASED_WRAP")
    monkeypatch.setenv("FSDP_USE_ORIG_PARAMS", "true")
    p = sharded.plugin()
    assert p.fsdp_version == 1 and p.use_orig_params and p.sharding_strategy.name == "FULL_SHARD"
