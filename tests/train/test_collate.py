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


@dataclass
class SlotEx:
    prompt_ids: list[int]
    chosen_ids: list[int]
    rejected_ids: list[list[int]]
    input_answer_ids: list[int]
    slot_positions: list[int]


def test_filler_batch_shares_one_input_row_per_utterance():
    """Answers "a:s" with the slot s at index 1 (a second one at 3 for the first utterance); 99 is the
    filler. Chosen and rejected rows read the same input row; labels hold the slot tokens only."""
    from lmm_apa.train.collate import collate_slots

    a = SlotEx([7, 8, 9], [1, 5, 2, 6], [[1, 3, 2, 6], [1, 5, 2, 4]], [1, 99, 2, 99], [1, 3])
    b = SlotEx([7, 9], [1, 4], [[1, 2]], [1, 99], [1])
    batch = collate_slots([a, b], [torch.zeros(3, 4), torch.ones(2, 4)], pad_id=0)
    assert batch.input_ids.tolist() == [[7, 8, 9, 1, 99, 2, 99], [7, 9, 1, 99, 0, 0, 0]]
    assert batch.attention_mask.sum(1).tolist() == [7, 4]
    # The logits one position before each slot: prompt length + slot index - 1.
    assert batch.positions.tolist() == [[3, 5], [2, 0]]
    assert batch.labels.tolist() == [[5, 6], [4, -100], [3, 6], [5, 4], [2, -100]]
    assert batch.label_source.tolist() == [0, 1, 0, 0, 1]
    assert batch.rejected_owner.tolist() == [0, 0, 1] and batch.n_chosen == 2

    ce = collate_slots([a, b], [torch.zeros(3, 4), torch.ones(2, 4)], pad_id=0, with_rejected=False)
    assert ce.labels.tolist() == [[5, 6], [4, -100]] and ce.rejected_owner.numel() == 0
