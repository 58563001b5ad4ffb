import torch

from lmm_apa.infer.onepass import slot_moments
from lmm_apa.tasks.answer import UNITS_PER_POINT


def test_a_sure_slot_never_reads_above_the_top_symbol():
    # float32 softmax rounding: the top symbol's probability a hair above 1 (seen on a phone slot:
    # 2.0000002, refused by the answer schema)
    sure = torch.zeros(2, 11)
    sure[0, 10] = 1.0000001
    sure[1, 0] = 1.0000001
    mean, std = slot_moments(sure)
    assert float(mean[0]) == 10.0 and float(mean[1]) == 0.0
    assert float(mean[0]) / UNITS_PER_POINT["phone"] <= 2.0
    assert torch.all(std >= 0)


def test_moments_of_an_ordinary_distribution_are_its_mean_and_spread():
    probs = torch.zeros(1, 11)
    probs[0, 4], probs[0, 8] = 0.5, 0.5
    mean, std = slot_moments(probs)
    assert abs(float(mean[0]) - 6.0) < 1e-6
    assert abs(float(std[0]) - 2.0) < 1e-6
