"""bf16 autocast training: the same loss curve as fp32 within bf16's rounding, fp32 weights kept."""

import pytest
import torch
import yaml

from lmm_apa.train.config import ConfigError
from lmm_apa.train.log import read_log
from lmm_apa.train.loop import autocast, build_model, train


def _losses(result) -> list[float]:
    return [r["loss"] for r in read_log(result.output_dir / "log.jsonl") if "loss" in r]


def test_bf16_autocast_follows_the_fp32_loss_curve(tiny_cfg, slot_jsonl, tmp_path):
    runs = {}
    for precision in ("fp32", "bf16"):
        cfg = tiny_cfg(
            f"data.train_jsonl={slot_jsonl}", "data.task=multi", "data.answer_inputs=filler",
            f"train.precision={precision}", f"train.output_dir={tmp_path / precision}",
        )  # fmt: skip
        lmm = build_model(cfg)
        runs[precision] = (train(cfg, lmm=lmm, progress=False), lmm)
    fp32, bf16 = (_losses(runs[p][0]) for p in ("fp32", "bf16"))
    assert len(fp32) == len(bf16) == 4 and fp32[-1] < fp32[0] and bf16[-1] < bf16[0]
    assert fp32 != bf16  # autocast really ran: bf16 rounds differently...
    for a, b in zip(fp32, bf16, strict=True):
        assert abs(a - b) <= 0.05 * abs(a) + 0.02, (fp32, bf16)  # ...but follows the same curve
    saved = yaml.safe_load((runs["bf16"][0].output_dir / "config.yaml").read_text())
    assert saved["train"]["precision"] == "bf16"
    # the optimizer's weights stay fp32 under autocast
    lmm = runs["bf16"][1]
    assert {p.dtype for p in lmm.trainable_parameters()} == {torch.float32}
    # ...while the language model's frozen matrices are kept in bf16 (no cast at every op)
    frozen = [p for p in lmm._hf.model.language_model.parameters() if not p.requires_grad and p.dim() == 2]
    assert frozen and {p.dtype for p in frozen} == {torch.bfloat16}


def test_auto_precision_is_saved_as_resolved(tiny_cfg):
    result = train(tiny_cfg("train.max_steps=1", "train.precision=auto"), progress=False)
    saved = yaml.safe_load((result.output_dir / "config.yaml").read_text())
    assert saved["train"]["precision"] in ("fp32", "bf16")


def test_autocast_context_and_config_check():
    x = torch.randn(4, 4)
    with autocast("bf16", "cpu"):
        assert (x @ x).dtype == torch.bfloat16
    with autocast("fp32", "cpu"):
        assert (x @ x).dtype == torch.float32
    from lmm_apa.train.config import load_config

    with pytest.raises(ConfigError, match="train.precision"):
        load_config(None, ["train.precision=fp16"])
