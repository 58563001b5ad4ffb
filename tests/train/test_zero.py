"""`train.zero` without launching: DeepSpeed is off unless the launcher asks, the batch arithmetic
comes from train.*, and the settings the trainer does not drive are refused by name."""

from types import SimpleNamespace

import pytest

from lmm_apa.train import zero


def fake_accelerator(ds_config: dict, processes: int = 2) -> SimpleNamespace:
    plugin = SimpleNamespace(deepspeed_config=ds_config, zero_stage=ds_config["zero_optimization"]["stage"])
    return SimpleNamespace(state=SimpleNamespace(deepspeed_plugin=plugin), num_processes=processes)


def test_deepspeed_is_off_unless_the_launcher_asks(monkeypatch):
    monkeypatch.delenv("ACCELERATE_USE_DEEPSPEED", raising=False)
    assert not zero.deepspeed_requested()
    monkeypatch.setenv("ACCELERATE_USE_DEEPSPEED", "true")
    assert zero.deepspeed_requested()


def test_batch_arithmetic_and_clipping_come_from_the_train_config(monkeypatch):
    monkeypatch.delenv("ACCELERATE_MIXED_PRECISION", raising=False)
    ds = {"zero_optimization": {"stage": 3}, "gradient_accumulation_steps": 1, "gradient_clipping": 1.0}
    assert (
        zero.configure(fake_accelerator(ds, processes=4), batch_size=1, grad_accum=2, max_grad_norm=0.5) == 3
    )
    assert ds["train_micro_batch_size_per_gpu"] == 1 and ds["gradient_accumulation_steps"] == 2
    assert ds["train_batch_size"] == 8 and ds["gradient_clipping"] == 0.5


@pytest.mark.parametrize(
    "extra, named",
    [
        ({"bf16": {"enabled": True}}, "bf16"),
        ({"zero_optimization": {"stage": 2, "offload_optimizer": {"device": "cpu"}}}, "offload_optimizer"),
        ({"optimizer": {"type": "AdamW"}}, "optimizer or scheduler"),
    ],
)
def test_settings_not_driven_are_refused(monkeypatch, extra, named):
    monkeypatch.delenv("ACCELERATE_MIXED_PRECISION", raising=False)
    ds = {"zero_optimization": {"stage": 2}} | extra
    with pytest.raises(ValueError, match=named):
        zero.configure(fake_accelerator(ds), batch_size=1, grad_accum=1, max_grad_norm=1.0)
