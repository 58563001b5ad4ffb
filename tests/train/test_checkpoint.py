import random

import numpy as np
import pytest
import torch

from lmm_apa.train.checkpoint import (
    latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
    read_trainer_state,
    save_checkpoint,
)
from lmm_apa.train.config import from_dict


class _Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.frozen = torch.nn.Linear(3, 3)
        self.frozen.requires_grad_(False)
        self.adapter = torch.nn.Linear(3, 2)


class _LMM:
    """What save_checkpoint needs of an AudioLMM: its model and save_adapter."""

    def __init__(self):
        self.model = _Model()

    def save_adapter(self, out, task, answer_inputs, trainable=None):
        out.mkdir(parents=True)
        (out / "adapter.txt").write_text(task)


@pytest.fixture
def run():
    torch.manual_seed(0)
    lmm = _LMM()
    opt = torch.optim.AdamW([p for p in lmm.model.parameters() if p.requires_grad], lr=0.1)
    lmm.model.adapter(torch.ones(1, 3)).sum().backward()
    opt.step()
    return lmm, opt, from_dict({})


def test_only_the_newest_checkpoints_are_kept_oldest_first(tmp_path, run):
    lmm, opt, config = run
    for step in (5, 10, 15):
        save_checkpoint(tmp_path, step, lmm, opt, {"epoch": 0}, config, keep_last=2)
    assert [p.name for p in list_checkpoints(tmp_path)] == ["step-0000010", "step-0000015"]
    assert latest_checkpoint(tmp_path).name == "step-0000015"
    assert (latest_checkpoint(tmp_path) / "config.yaml").is_file()
    assert (latest_checkpoint(tmp_path) / "adapter" / "adapter.txt").is_file()


def test_no_checkpoints_and_half_written_ones_are_not_listed(tmp_path):
    assert list_checkpoints(tmp_path) == [] and latest_checkpoint(tmp_path) is None
    (tmp_path / "checkpoints" / "step-0000007.tmp").mkdir(parents=True)
    assert list_checkpoints(tmp_path) == []


def test_resume_restores_trainable_weights_optimizer_and_rng(tmp_path, run):
    lmm, opt, config = run
    random.seed(1), np.random.seed(1), torch.manual_seed(1)
    ckpt = save_checkpoint(tmp_path, 3, lmm, opt, {"data_position": 42}, config)
    expected = (random.random(), np.random.rand(), torch.rand(1).item())
    saved = {k: v.clone() for k, v in lmm.model.adapter.state_dict().items()}
    frozen = lmm.model.frozen.weight.clone()

    fresh = _LMM()
    fresh.model.frozen.weight.data.copy_(frozen)
    opt2 = torch.optim.AdamW([p for p in fresh.model.parameters() if p.requires_grad], lr=0.1)
    state = load_checkpoint(ckpt, fresh, opt2)
    assert state["step"] == 3 and state["data_position"] == 42
    assert set(state["trainable"]) == {"adapter.weight", "adapter.bias"}
    for k, v in fresh.model.adapter.state_dict().items():
        torch.testing.assert_close(v, saved[k])
    assert opt2.state_dict()["state"][0]["step"] == opt.state_dict()["state"][0]["step"]
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == expected
    assert read_trainer_state(ckpt)["step"] == 3


def test_a_checkpoint_with_weights_the_model_lacks_is_refused(tmp_path, run):
    lmm, opt, config = run
    ckpt = save_checkpoint(tmp_path, 1, lmm, opt, {}, config)
    other = _LMM()
    other.model.adapter = torch.nn.Identity()
    with pytest.raises(ValueError, match="weights the model lacks"):
        load_checkpoint(ckpt, other, None)
