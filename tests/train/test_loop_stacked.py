"""Stacked micro-batches (`train.stack_micro_batches`): one forward pass for several micro-batches
gives the loss and the gradients of one forward per micro-batch, on the tiny backbone."""

import pytest
import torch

from lmm_apa.train.data import build_datasets
from lmm_apa.train.log import read_log
from lmm_apa.train.loop import build_model, forward_loss, make_batch, stacked_batch, train


def _listen_cfg(tiny_cfg, corpus_dir, *extra):
    """The shipped recipe's shape (configs/cpu_listen.yaml) on the tiny backbone: multi task, filler
    inputs, the aligner's evidence, three rejected answers; dropout off so two passes compare."""
    return tiny_cfg(
        "data.train_jsonl=null",
        f"data.corpus_dir={corpus_dir}",
        "data.task=multi",
        "data.answer_inputs=filler",
        "data.evidence=true",
        "data.limit=4",
        "data.dev_limit=1",
        "data.n_rejected=3",
        "model.lora_dropout=0",
        *extra,
    )


def _grads(lmm, cfg, micro_batches, stacked):
    """Loss and gradients of one optimizer step's micro-batches, the loss scaled as the engine does."""
    params = dict(lmm.named_trainable_parameters())
    for p in params.values():
        p.grad = None
    with_rejected = cfg.train.loss_type != "ce"
    if stacked:
        batches = [stacked_batch(micro_batches, lmm, with_rejected)]
    else:
        batches = [make_batch(m, lmm, with_rejected) for m in micro_batches]
    total = 0.0
    for batch in batches:
        loss, _ = forward_loss(lmm, batch, cfg)
        (loss / len(micro_batches)).backward()
        total += float(loss.detach()) / len(micro_batches)
    return total, {n: p.grad.clone() for n, p in params.items()}


def _moved(lmm):
    """Every trainable weight away from its initial value: LoRA's B and the evidence projector start
    at zero, which would leave the gradients of LoRA's A and the projector's first layer at zero."""
    torch.manual_seed(1)
    with torch.no_grad():
        for p in lmm.trainable_parameters():
            p.add_(0.05 * torch.randn_like(p))
    return lmm


def _assert_same_step(lmm, cfg, micro_batches):
    old_loss, old = _grads(lmm, cfg, micro_batches, stacked=False)
    new_loss, new = _grads(lmm, cfg, micro_batches, stacked=True)
    assert new_loss == pytest.approx(old_loss, rel=1e-5)
    assert old.keys() == new.keys()
    assert any("lora_A" in n for n in old) and any("multi_modal_projector" in n for n in old)
    for name in old:
        assert old[name].abs().sum() > 0, f"{name}: no gradient, nothing compared"
        torch.testing.assert_close(new[name], old[name], rtol=1e-4, atol=1e-6, msg=name)


@pytest.mark.parametrize("loss", ["simpo", "ce"])
def test_stacked_step_equals_one_forward_per_micro_batch(tiny_cfg, corpus_dir, loss):
    cfg = _listen_cfg(tiny_cfg, corpus_dir, f"train.loss_type={loss}")
    lmm = _moved(build_model(cfg))
    examples, _, _ = build_datasets(cfg, lmm)
    assert len(examples) >= 3
    assert loss == "ce" or all(len(e.rejected_ids) == 3 for e in examples)
    lengths = {len(e.prompt_ids) + len(e.input_answer_ids) for e in examples}
    assert len(lengths) > 1  # rows of different lengths: the stack pads, and padding must not count
    # micro-batches of one and of two utterances: the CE is a token mean within each micro-batch
    _assert_same_step(lmm, cfg, [[e] for e in examples])
    _assert_same_step(lmm, cfg, [examples[:2], examples[2:]])


def test_stacked_teacher_step_equals_one_forward_per_micro_batch(tiny_cfg):
    """Teacher inputs (a row per answer, every answer token a label) split as well."""
    cfg = tiny_cfg("data.n_rejected=2", "model.lora_dropout=0")
    lmm = _moved(build_model(cfg))
    examples, _, _ = build_datasets(cfg, lmm)
    assert len({len(e.prompt_ids) for e in examples}) > 1
    _assert_same_step(lmm, cfg, [[e] for e in examples])


def _count_rows(lmm) -> list[int]:
    """Wrap ``lmm.logits_at`` to record the input rows of every forward pass."""
    calls, logits_at = [], lmm.logits_at

    def counted(*args, **kwargs):
        calls.append(args[0].shape[0])
        return logits_at(*args, **kwargs)

    lmm.logits_at = counted
    return calls


def test_training_with_stacked_micro_batches_is_the_same_run(tiny_cfg, slot_jsonl, tmp_path):
    """Through the loop: a step runs one forward for its micro-batches (the switch is read), and the
    logged losses and gradient norms, step after step, are those of one forward per micro-batch.
    (Not the weights to 1e-4: Adam's first steps move a weight by about lr whatever its gradient's
    size, so rounding-level gradients of LoRA's A, zero at the start, move it apart.)"""
    runs = {}
    for stack in (1, 2):
        cfg = tiny_cfg(
            f"data.train_jsonl={slot_jsonl}", "data.task=multi", "data.answer_inputs=filler",
            "model.lora_dropout=0", "train.max_steps=3", "train.precision=fp32",
            f"train.stack_micro_batches={stack}",
            f"train.output_dir={tmp_path / str(stack)}",
        )  # fmt: skip
        torch.manual_seed(0)  # the same initial adapter in both runs
        lmm = build_model(cfg)
        calls = _count_rows(lmm)
        result = train(cfg, lmm=lmm, progress=False)
        log = [r for r in read_log(result.output_dir / "log.jsonl") if "loss" in r]
        runs[stack] = (calls, log)
    (calls1, log1), (calls2, log2) = runs[1], runs[2]
    assert calls1 == [1] * 6 and calls2 == [2] * 3  # grad_accum 2, batch 1: two rows a forward
    for a, b in zip(log1, log2, strict=True):
        for key in ("loss", "nll_loss", "rewards/margins", "grad_norm"):
            assert b[key] == pytest.approx(a[key], rel=1e-4, abs=1e-6), key


def test_stack_micro_batches_must_be_positive(tiny_cfg):
    from lmm_apa.errors import ConfigError

    with pytest.raises(ConfigError, match="stack_micro_batches"):
        tiny_cfg("train.stack_micro_batches=0")


def test_stack_order_puts_the_shortest_together():
    from types import SimpleNamespace

    from lmm_apa.train.loop import stack_order

    def ex(n):
        return SimpleNamespace(prompt_ids=[0] * n, input_answer_ids=[0], chosen_ids=[0], rejected_ids=[])

    micros = [[ex(9)], [ex(3)], [ex(7), ex(1)], [ex(5)]]
    assert stack_order(micros, 1) == [[0], [1], [2], [3]]
    assert stack_order(micros, 2) == [[1, 3], [2, 0]]
    assert stack_order(micros, 4) == [[1, 3, 2, 0]]
