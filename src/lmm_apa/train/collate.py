"""Collate examples into ONE concatenated batch: chosen rows first, then every rejected row.

As TRL's preference trainers do, chosen and rejected answers go through a single forward pass and
are split at ``n_chosen`` afterwards. Labels are -100 on the prompt, the audio tokens and padding,
so the loss (SimPO and CE) is taken on answer tokens only: training on the prompt is a known
mistake of public Qwen2-Audio fine-tuning scripts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from lmm_apa.train.losses import IGNORE_INDEX


@dataclass
class Batch:
    input_ids: torch.Tensor  # (N, L), right-padded
    attention_mask: torch.Tensor  # (N, L)
    labels: torch.Tensor  # (N, L), -100 outside the answers
    audio_feats: list[torch.Tensor]  # one per row (a rejected row shares its utterance's tensor)
    n_chosen: int
    rejected_owner: torch.Tensor  # (N - n_chosen,), the chosen row each rejected row belongs to

    def to(self, device: torch.device | str) -> Batch:
        return Batch(
            self.input_ids.to(device),
            self.attention_mask.to(device),
            self.labels.to(device),
            [f.to(device) for f in self.audio_feats],
            self.n_chosen,
            self.rejected_owner.to(device),
        )


def collate(
    examples: list[Any],
    feats: list[torch.Tensor],
    pad_id: int,
    with_rejected: bool = True,
) -> Batch:
    """Build the concatenated batch for ``examples`` (each with prompt_ids, chosen_ids, rejected_ids)."""
    rows: list[tuple[list[int], list[int], torch.Tensor]] = [
        (e.prompt_ids, e.chosen_ids, f) for e, f in zip(examples, feats, strict=True)
    ]
    owner: list[int] = []
    if with_rejected:
        for b, (e, f) in enumerate(zip(examples, feats, strict=True)):
            for r in e.rejected_ids:
                rows.append((e.prompt_ids, r, f))
                owner.append(b)
    length = max(len(p) + len(a) for p, a, _ in rows)
    input_ids = torch.full((len(rows), length), pad_id, dtype=torch.long)
    labels = torch.full((len(rows), length), IGNORE_INDEX, dtype=torch.long)
    attention_mask = torch.zeros((len(rows), length), dtype=torch.long)
    for i, (prompt, answer, _) in enumerate(rows):
        n = len(prompt) + len(answer)
        input_ids[i, :n] = torch.tensor(prompt + answer)
        labels[i, len(prompt) : n] = torch.tensor(answer)
        attention_mask[i, :n] = 1
    return Batch(
        input_ids,
        attention_mask,
        labels,
        [f for _, _, f in rows],
        len(examples),
        torch.tensor(owner, dtype=torch.long),
    )
