"""`train.engines` in one process: the engine each launcher setting picks, the plain engine's
micro-steps, clip, step and checkpoint round trip on the tiny backbone, and the DeepSpeed engine's
calls into a stand-in for DeepSpeed's (the real engines run in test_fsdp_train / test_deepspeed_train)."""

import functools
from types import SimpleNamespace

import pytest
import torch

from lmm_apa.train import engines
from lmm_apa.train.data import build_datasets
from lmm_apa.train.loop import build_model, forward_loss, make_batch


@pytest.mark.parametrize(
    ("env", "engine"),
    [
        ({}, engines.DDPEngine),
        ({"ACCELERATE_USE_FSDP": "true"}, engines.FSDPEngine),
        ({"ACCELERATE_USE_DEEPSPEED": "true"}, engines.DeepSpeedEngine),
    ],
)
def test_the_launchers_config_picks_the_engine(monkeypatch, env, engine):
    for name in ("ACCELERATE_USE_FSDP", "ACCELERATE_USE_DEEPSPEED"):
        monkeypatch.delenv(name, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert engines.engine_class() is engine
    assert engine.frozen_in_bf16 == (engine is engines.DDPEngine)  # sharded weights keep one dtype


@pytest.fixture
def plain(tiny_cfg):
    """A prepared one-process engine on the tiny backbone (dropout off, fp32), its run config, and
    the two training utterances as micro-batches of one."""

    def make(*extra: str):
        cfg = tiny_cfg("model.lora_dropout=0", "train.precision=fp32", *extra)
        torch.manual_seed(0)
        lmm = build_model(cfg)
        examples, _, _ = build_datasets(cfg, lmm)
        batches = [make_batch([e], lmm, with_rejected=True) for e in examples]
        accelerator = engines.DDPEngine.make_accelerator()
        engine = engines.DDPEngine(
            accelerator, lmm, functools.partial(forward_loss, lmm, cfg=cfg), cfg.train, "fp32"
        )
        engine.prepare()
        lmm.model.train()
        return engine, cfg, batches

    return make


def _grads(engine) -> dict[str, torch.Tensor]:
    return {n: p.grad.clone() for n, p in engine.lmm.model.named_parameters() if p.requires_grad}


def test_accumulated_micro_steps_give_the_gradient_of_the_mean_loss(plain):
    """grad-accum 2: each micro-step backpropagates its loss / 2, so the step's gradient is that of
    (loss_1 + loss_2) / 2, the mean over the step's micro-batches (what the loop always did)."""
    engine, cfg, batches = plain("train.grad_accum=2")
    metrics = [engine.micro_step(b, sync=k == 1) for k, b in enumerate(batches)]
    accumulated = _grads(engine)
    engine.optimizer.zero_grad(set_to_none=True)
    losses = [forward_loss(engine.lmm, b, cfg)[0] for b in batches]
    ((losses[0] + losses[1]) / 2).backward()
    assert [m["loss"] for m in metrics] == pytest.approx([x.item() for x in losses], rel=1e-6)
    for name, grad in _grads(engine).items():
        torch.testing.assert_close(accumulated[name], grad, atol=1e-7, rtol=1e-5)


def test_clip_returns_the_norm_before_clipping_and_step_updates_only_trainable_weights(plain):
    engine, _, batches = plain("train.grad_accum=1")
    before = {n: p.detach().clone() for n, p in engine.lmm.model.named_parameters()}
    engine.micro_step(batches[0], sync=True)
    norm = float(engine.clip(1e-3))
    clipped = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in engine.params]))
    assert norm > 1e-3 and float(clipped) == pytest.approx(1e-3, rel=1e-3)
    engine.step()
    assert all(p.grad is None for p in engine.params)  # cleared for the next step
    changed = {n for n, p in engine.lmm.model.named_parameters() if not torch.equal(before[n], p)}
    trainable = {n for n, p in engine.lmm.model.named_parameters() if p.requires_grad}
    assert changed and changed <= trainable


def test_a_saved_checkpoint_restores_weights_optimizer_and_trainer_state(plain, tmp_path):
    engine, cfg, batches = plain("train.grad_accum=1")
    engine.micro_step(batches[0], sync=True)
    engine.step()
    engine.save(tmp_path, 1, {"scheduler": {"last_epoch": 1}, "micro_batches_done": 1}, cfg)
    saved = {n: p.detach().clone() for n, p in engine.lmm.model.named_parameters() if p.requires_grad}
    moments = {k: v.clone() for k, v in engine.optimizer.state_dict()["state"][0].items()}

    fresh, _, _ = plain("train.grad_accum=1")  # a new LoRA, no optimizer state
    state = fresh.restore(tmp_path / "checkpoints" / "step-0000001")
    assert state["step"] == 1 and state["scheduler"] == {"last_epoch": 1}
    for name, p in fresh.lmm.model.named_parameters():
        if p.requires_grad:
            assert torch.equal(p, saved[name]), name
    for key, value in fresh.optimizer.state_dict()["state"][0].items():
        assert torch.equal(value, moments[key]), key
    assert engine.trainable_weights() is None  # whole in lmm.model: save_adapter reads it there


class _FakeDeepSpeed(torch.nn.Module):
    """Records what the trainer asks of DeepSpeed's engine."""

    def __init__(self, wrapped):
        super().__init__()
        self.wrapped, self.calls = wrapped, []

    def forward(self, batch):
        self.calls.append("forward")
        return self.wrapped(batch)

    def backward(self, loss):
        self.calls.append(("backward", float(loss)))

    def step(self):
        self.calls.append("step")

    def get_global_grad_norm(self):
        return 0.5


def test_deepspeed_micro_steps_are_deepspeeds_loop_and_clip_and_step_read_what_the_engine_did(monkeypatch):
    monkeypatch.delenv("ACCELERATE_MIXED_PRECISION", raising=False)
    ds_config = {"zero_optimization": {"stage": 2}}
    plugin = SimpleNamespace(deepspeed_config=ds_config, zero_stage=2)
    accelerator = SimpleNamespace(
        state=SimpleNamespace(deepspeed_plugin=plugin), num_processes=2, device=torch.device("cpu"),
        prepare=lambda model, opt: (_FakeDeepSpeed(model), opt), print=lambda *_: None,
    )  # fmt: skip
    lmm = SimpleNamespace(model=torch.nn.Linear(2, 1))
    loss_of = lambda batch: (lmm.model(batch).sum(), {"loss": 0.0})  # noqa: E731
    t = SimpleNamespace(grad_accum=2, lr=1e-3, weight_decay=0.0, batch_size=1, max_grad_norm=0.25)
    engine = engines.DeepSpeedEngine(accelerator, lmm, loss_of, t, "fp32")
    assert ds_config["gradient_accumulation_steps"] == 2 and ds_config["gradient_clipping"] == 0.25
    engine.prepare()

    batch = torch.ones(1, 2)
    engine.micro_step(batch, sync=False)
    engine.micro_step(batch, sync=True)
    loss = float(lmm.model(batch).sum())
    # unscaled: the engine divides by the accumulation itself; it counts micro-batches to its step
    assert engine.model.calls == ["forward", ("backward", loss), "step"] * 2
    assert engine.clip(0.25) == 0.5
    engine.step()  # the engine stepped already: nothing more is called
    assert len(engine.model.calls) == 6
