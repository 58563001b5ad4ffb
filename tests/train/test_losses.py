import math

import pytest
import torch

from lmm_apa.train.losses import objective, preference_loss, sequence_logps, simpo_loss, token_logps


def training_loss(logits, labels, *args, **kwargs):
    """The teacher-forced loss, as the loop computes it: `objective` on `token_logps`."""
    return objective(*token_logps(logits, labels), *args, **kwargs)


def test_simpo_loss_hand_worked():
    """chosen -0.5, rejected -1.5, beta 2, gamma 0.5:
    z = beta * (chosen - rejected) - gamma = 2 * 1.0 - 0.5 = 1.5
    loss = -log sigmoid(1.5) = log(1 + e^-1.5) = log(1.22313) = 0.201413
    rewards: chosen 2 * -0.5 = -1.0, rejected 2 * -1.5 = -3.0
    """
    losses, cr, rr = simpo_loss(torch.tensor([-0.5]), torch.tensor([-1.5]), beta=2.0, gamma=0.5)
    assert losses.item() == pytest.approx(0.2014133, abs=1e-6)
    assert losses.item() == pytest.approx(math.log1p(math.exp(-1.5)), abs=1e-7)
    assert cr.item() == -1.0 and rr.item() == -3.0


def test_simpo_loss_reversed_pair_and_label_smoothing():
    """chosen -1.5, rejected -0.5, beta 2, gamma 0.5: z = 2 * -1.0 - 0.5 = -2.5,
    loss = log(1 + e^2.5) = 2.578889.
    Label smoothing 0.1 on the first pair (z = 1.5):
    0.9 * log(1 + e^-1.5) + 0.1 * log(1 + e^1.5) = 0.9 * 0.201413 + 0.1 * 1.701413 = 0.351413
    """
    losses, _, _ = simpo_loss(torch.tensor([-1.5]), torch.tensor([-0.5]), beta=2.0, gamma=0.5)
    assert losses.item() == pytest.approx(2.578889, abs=1e-5)
    smoothed, _, _ = simpo_loss(torch.tensor([-0.5]), torch.tensor([-1.5]), 2.0, 0.5, label_smoothing=0.1)
    assert smoothed.item() == pytest.approx(0.351413, abs=1e-5)


def test_rewards_are_detached():
    c = torch.tensor([-0.5], requires_grad=True)
    r = torch.tensor([-1.5], requires_grad=True)
    losses, cr, rr = simpo_loss(c, r, 2.0, 0.5)
    assert losses.requires_grad and not cr.requires_grad and not rr.requires_grad


def test_unknown_loss_type_raises():
    with pytest.raises(ValueError, match="unknown"):
        preference_loss("dpo", torch.zeros(1), torch.zeros(1), 2.0, 0.5)
    with pytest.raises(ValueError, match="unknown"):
        training_loss(torch.zeros(1, 3, 4), torch.zeros(1, 3, dtype=torch.long), 1, None, loss_type="kto")


def _logits_for(probs_rows: list[list[list[float]]]) -> torch.Tensor:
    return torch.tensor(probs_rows).log()


def test_sequence_logps_shifts_and_ignores_masked():
    """Vocab 2, length 3. Labels [-100, 1, 0]: the logits at position 0 predict label 1 and position 1
    predicts label 0; position 2's logits predict nothing.
    p(1 @ pos0) = 0.25, p(0 @ pos1) = 0.5 -> sum = log 0.25 + log 0.5 = -2.0794, mean = -1.0397
    """
    logits = _logits_for([[[0.75, 0.25], [0.5, 0.5], [0.9, 0.1]]])
    labels = torch.tensor([[-100, 1, 0]])
    total = sequence_logps(logits, labels, average=False)
    mean = sequence_logps(logits, labels, average=True)
    assert total.item() == pytest.approx(math.log(0.25) + math.log(0.5), abs=1e-6)
    assert mean.item() == pytest.approx((math.log(0.25) + math.log(0.5)) / 2, abs=1e-6)
    logps, mask = token_logps(logits, labels)
    assert mask.tolist() == [[True, True]]


def test_training_loss_pairs_and_ce():
    """One utterance, one chosen row and two rejected rows, one answer token each (vocab 2).
    chosen p = 0.5 -> logp -0.6931; rejected p = 0.25 -> -1.3863, p = 0.75 -> -0.2877.
    z_k = 2 * (chosen - rejected_k) - 0.5: z_1 = 0.8863, z_2 = -1.3109
    losses: log(1 + e^-0.8863) = 0.3451, log(1 + e^1.3109) = 1.5496; SimPO term = mean = 0.9474
    CE = 0.6931; total (lambda 1) = 1.6405; accuracies 1/2.
    """
    logits = _logits_for([[[0.5, 0.5], [0.5, 0.5]], [[0.75, 0.25], [0.5, 0.5]], [[0.25, 0.75], [0.5, 0.5]]])
    labels = torch.tensor([[-100, 1], [-100, 1], [-100, 1]])
    loss, m = training_loss(logits, labels, 1, torch.tensor([0, 0]), "simpo", beta=2.0, gamma=0.5)
    z1 = 2 * (math.log(0.5) - math.log(0.25)) - 0.5
    z2 = 2 * (math.log(0.5) - math.log(0.75)) - 0.5
    simpo = (math.log1p(math.exp(-z1)) + math.log1p(math.exp(-z2))) / 2
    assert m["simpo_loss"] == pytest.approx(simpo, abs=1e-5) == pytest.approx(0.9474, abs=1e-4)
    assert m["nll_loss"] == pytest.approx(-math.log(0.5), abs=1e-6)
    assert loss.item() == pytest.approx(simpo - math.log(0.5), abs=1e-5) == pytest.approx(1.6405, abs=1e-4)
    assert m["rewards/accuracies"] == 0.5
    assert m["rewards/chosen"] == pytest.approx(2 * math.log(0.5), abs=1e-6)
    ce, mce = training_loss(logits[:1], labels[:1], 1, None, "ce")
    assert ce.item() == pytest.approx(-math.log(0.5), abs=1e-6)
    assert "rewards/chosen" not in mce and mce["loss"] == mce["nll_loss"]


def test_every_utterance_weighs_the_same():
    """Utterance 0 has 2 rejected rows, utterance 1 has 1: the SimPO term is the mean over utterances of
    each utterance's mean over its pairs (not the mean over the 3 pairs)."""
    logits = torch.randn(5, 3, 7)
    labels = torch.randint(0, 7, (5, 3))
    labels[:, 0] = -100
    owner = torch.tensor([0, 0, 1])
    _, m = training_loss(logits, labels, 2, owner, "simpo", beta=2.0, gamma=0.5, ce_weight=0.0)
    avg = sequence_logps(logits, labels)
    pair, _, _ = simpo_loss(avg[:2][owner], avg[2:], 2.0, 0.5)
    expected = ((pair[0] + pair[1]) / 2 + pair[2]) / 2
    assert m["simpo_loss"] == pytest.approx(expected.item(), abs=1e-6)
    assert m["loss"] == pytest.approx(expected.item(), abs=1e-6)
