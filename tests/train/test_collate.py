from dataclasses import dataclass

import torch

from lmm_apa.train.collate import collate


@dataclass
class Ex:
    prompt_ids: list[int]
    chosen_ids: list[int]
    rejected_ids: list[list[int]]


def test_concatenated_batch_layout_and_labels():
    """Two utterances; the first has 2 rejected answers, the second 1. Rows: c0, c1, r0a, r0b, r1a.
    Prompt ids (7, 8, 9 stand for prompt + audio tokens) are -100 in labels; so is padding (pad 0)."""
    a = Ex([7, 8, 9], [1, 2], [[3], [4, 5, 6]])
    b = Ex([7, 9], [1, 2, 3, 4], [[5, 6]])
    fa, fb = torch.zeros(3, 4), torch.ones(2, 4)
    batch = collate([a, b], [fa, fb], pad_id=0)
    assert batch.n_chosen == 2
    assert batch.rejected_owner.tolist() == [0, 0, 1]
    assert batch.input_ids.tolist() == [
        [7, 8, 9, 1, 2, 0],
        [7, 9, 1, 2, 3, 4],
        [7, 8, 9, 3, 0, 0],
        [7, 8, 9, 4, 5, 6],
        [7, 9, 5, 6, 0, 0],
    ]
    assert batch.labels.tolist() == [
        [-100, -100, -100, 1, 2, -100],
        [-100, -100, 1, 2, 3, 4],
        [-100, -100, -100, 3, -100, -100],
        [-100, -100, -100, 4, 5, 6],
        [-100, -100, 5, 6, -100, -100],
    ]
    assert batch.attention_mask.sum(1).tolist() == [5, 6, 4, 6, 4]
    assert [f is fa for f in batch.audio_feats] == [True, False, True, True, False]


def test_ce_mode_has_no_rejected_rows():
    batch = collate([Ex([7], [1], [[2]])], [torch.zeros(1, 2)], pad_id=0, with_rejected=False)
    assert batch.input_ids.shape == (1, 2) and batch.rejected_owner.numel() == 0
