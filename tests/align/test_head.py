import json

import numpy as np
import pytest
import torch

from lmm_apa.align.head import DEFAULT_HEAD, HEAD_JSON, HeadConfig, PhoneHead
from lmm_apa.align.phoneset import N_CLASSES
from lmm_apa.errors import ModelError

SMALL = dict(d_in=16, d_bottleneck=8, d_hidden=6, n_layers=2, dropout=0.0)


@pytest.mark.parametrize("arch", ["conv", "lstm"])
def test_posteriors_are_log_probabilities_over_the_classes(arch):
    torch.manual_seed(0)
    head = PhoneHead(HeadConfig(arch=arch, **SMALL))
    logp, h = head.posteriors(np.random.default_rng(0).normal(size=(30, 16)))
    assert logp.shape == (30, N_CLASSES)
    assert h.shape == (30, head.d_state)
    assert head.d_state == (12 if arch == "lstm" else 8)
    np.testing.assert_allclose(np.exp(logp).sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("arch", ["conv", "lstm"])
def test_padding_does_not_change_a_recordings_output(arch):
    torch.manual_seed(0)
    head = PhoneHead(HeadConfig(arch=arch, **SMALL)).eval()
    short = torch.randn(1, 10, 16)
    batch = torch.cat([torch.cat([short, torch.randn(1, 5, 16)], dim=1), torch.randn(1, 15, 16)])
    alone, _ = head(short)
    padded, _ = head(batch, torch.tensor([10, 15]))
    torch.testing.assert_close(padded[0, :10], alone[0], rtol=1e-4, atol=1e-5)


def test_an_unknown_arch_is_a_model_error():
    with pytest.raises(ModelError, match="unknown phone head arch"):
        PhoneHead(HeadConfig(arch="transformer", **SMALL))


def test_save_then_load_gives_the_same_head_and_keeps_provenance(tmp_path):
    torch.manual_seed(1)
    head = PhoneHead(HeadConfig(**SMALL))
    head.save(tmp_path, epoch=3)
    info = json.loads((tmp_path / HEAD_JSON).read_text())
    assert info["epoch"] == 3 and info["config"]["d_in"] == 16
    loaded = PhoneHead.load(tmp_path)
    frames = np.random.default_rng(1).normal(size=(12, 16))
    np.testing.assert_allclose(loaded.posteriors(frames)[0], head.posteriors(frames)[0], rtol=1e-6)
    assert not any(p.requires_grad for p in loaded.parameters())


def test_a_folder_without_a_head_is_a_model_error(tmp_path):
    with pytest.raises(ModelError, match="no phone recogniser"):
        PhoneHead.load(tmp_path)


def test_the_shipped_head_loads():
    head = PhoneHead.load(DEFAULT_HEAD)
    assert head.cfg.n_classes == N_CLASSES
