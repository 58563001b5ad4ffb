"""The ranking term (train.rank_weight): RankNet over same-kind slots whose gold scores differ."""

import math

import pytest
import torch

from lmm_apa.train.rank import pairwise_rank_loss


def test_hand_computed_pair():
    """Gold 10 above gold 7, read 6 and 8 (wrong order by 2): softplus(2) = log(1 + e^2) = 2.1269."""
    scores = torch.tensor([6.0, 8.0], requires_grad=True)
    loss, m = pairwise_rank_loss(scores, torch.tensor([10, 7]), torch.tensor([0, 0]))
    assert loss.item() == pytest.approx(math.log1p(math.exp(2.0)), abs=1e-5)
    assert m == {"rank_pairs": 1.0, "rank_accuracy": 0.0}


def test_right_order_by_a_margin_costs_almost_nothing_and_wrong_order_carries_a_gradient():
    gold, kinds = torch.tensor([10, 8, 5]), torch.tensor([3, 3, 3])
    right = torch.tensor([10.0, 5.0, 0.0], requires_grad=True)
    loss, m = pairwise_rank_loss(right, gold, kinds)
    assert loss.item() < 0.01 and m["rank_accuracy"] == 1.0 and m["rank_pairs"] == 3.0
    wrong = torch.tensor([0.0, 5.0, 10.0], requires_grad=True)
    loss, m = pairwise_rank_loss(wrong, gold, kinds)
    loss.backward()
    assert loss.item() > 1.0 and m["rank_accuracy"] == 0.0
    # the slot the raters put first is pushed up, the one they put last pushed down
    assert wrong.grad[0] < 0 < wrong.grad[2]


def test_ties_other_kinds_and_padding_make_no_pairs():
    scores = torch.tensor([0.0, 9.0, 1.0, 5.0], requires_grad=True)
    # slots 0/1 tie; 2 and 3 differ in gold but are of different kinds; -1 is padding
    loss, m = pairwise_rank_loss(scores, torch.tensor([7, 7, 9, 2]), torch.tensor([0, 0, 1, 2]))
    assert loss.item() == 0.0 and m["rank_pairs"] == 0.0
    loss.backward()  # the zero keeps the graph, so a batch without pairs still steps
    assert torch.equal(scores.grad, torch.zeros(4))
    loss, m = pairwise_rank_loss(scores, torch.tensor([7, 2, 9, 2]), torch.tensor([0, -1, 0, -1]))
    assert m["rank_pairs"] == 1.0  # only (2, 0): the padded slots take no part


def test_kinds_average_so_many_phone_pairs_do_not_drown_one_word_pair():
    """Kind 0: one pair in the wrong order by 2 (softplus(2)); kind 1: 45 pairs right by 10 (~0)."""
    scores = torch.cat([torch.tensor([0.0, 2.0]), torch.full((10,), 0.0)])
    scores[2:] = torch.arange(10, 0, -1).float() * 10  # gold and scores in the same order
    gold = torch.cat([torch.tensor([9, 3]), torch.arange(10, 0, -1)])
    kinds = torch.tensor([0, 0] + [1] * 10)
    loss, m = pairwise_rank_loss(scores, gold, kinds)
    assert m["rank_pairs"] == 46.0
    assert loss.item() == pytest.approx(math.log1p(math.exp(2.0)) / 2, abs=1e-4)


def test_config_checks():
    from lmm_apa.train.config import ConfigError, load_config

    assert load_config(None).train.rank_weight == 0.0
    with pytest.raises(ConfigError, match="rank_weight must be >= 0"):
        load_config(None, ["train.rank_weight=-1", "data.answer_inputs=filler"])
    with pytest.raises(ConfigError, match="rank_scale must be > 0"):
        load_config(None, ["train.rank_scale=0"])
    with pytest.raises(ConfigError, match="needs data.answer_inputs: filler"):
        load_config(None, ["train.rank_weight=1", "data.answer_inputs=teacher"])
    assert load_config(None, ["train.rank_weight=0.5", "data.answer_inputs=filler"]).train.rank_weight == 0.5


def test_a_tiny_training_run_with_the_ranking_term_logs_it(tiny_cfg, slot_jsonl):
    """Two multi utterances a micro-batch, so the sentence slots get pairs across utterances too."""
    from lmm_apa.train.data import build_datasets
    from lmm_apa.train.log import read_log
    from lmm_apa.train.loop import build_model, forward_loss, make_batch, train

    extra = ("data.task=multi", "data.answer_inputs=filler", "train.rank_weight=1.0", "train.batch_size=2")
    cfg = tiny_cfg(f"data.train_jsonl={slot_jsonl}", *extra, "train.max_steps=2")
    lmm = build_model(cfg)
    examples, _, _ = build_datasets(cfg, lmm)
    batch = make_batch(examples, lmm, with_rejected=True)
    assert batch.slot_kinds.shape == batch.positions.shape and (batch.slot_kinds >= 0).any()
    loss, m = forward_loss(lmm, batch, cfg)
    loss.backward()
    assert m["rank_pairs"] > 0 and m["rank_loss"] > 0
    assert any(
        p.grad is not None and p.grad.abs().sum() > 0 for p in lmm.model.parameters() if p.requires_grad
    )
    off = tiny_cfg(f"data.train_jsonl={slot_jsonl}", *extra[:2], "train.batch_size=2")
    assert m["loss"] == pytest.approx(forward_loss(lmm, batch, off)[1]["loss"] + m["rank_loss"], rel=1e-4)

    result = train(cfg, lmm=lmm, progress=False)
    log = [r for r in read_log(result.output_dir / "log.jsonl") if "loss" in r]
    assert len(log) == 2 and all(r["rank_pairs"] > 0 and r["rank_loss"] == r["rank_loss"] for r in log)
