"""Collate examples into ONE concatenated batch: chosen rows first, then every rejected row.

As TRL's preference trainers do, chosen and rejected answers go through a single forward pass and
are split at ``n_chosen`` afterwards. Labels are -100 on the prompt, the audio tokens and padding,
so the loss (SimPO and CE) is taken on answer tokens only: training on the prompt is a known
mistake of public Qwen2-Audio fine-tuning scripts.

With filler inputs (``data.answer_inputs: filler``) chosen and rejected answers of an utterance share
one input row; ``collate_slots`` builds those rows, the positions whose logits are needed (one before
each slot) and one label row per answer.

Several micro-batches of a step may be stacked into one batch (``train.stack_micro_batches``): one
forward pass for all of them, padded to the longest, then `split_groups` hands each micro-batch its
own rows of the output and its labels re-indexed as if it had been collated alone, so each keeps its
own loss.
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
    # Shared inputs (collate_slots): logits are read at positions (B, K) of the B input rows;
    # labels are then (N, K), label row i reading input row label_source[i].
    positions: torch.Tensor | None = None
    label_source: torch.Tensor | None = None
    # data.evidence: per input row and slot, the aligner's evidence (B, K, W) and which slots are real
    evidence: torch.Tensor | None = None
    evidence_mask: torch.Tensor | None = None
    # Shared inputs: each input row's slot kinds (B, K), `answer.SLOT_KINDS` indices, -1 at padding
    slot_kinds: torch.Tensor | None = None
    # Stacked micro-batches: per utterance (chosen row), the micro-batch it belongs to (`split_groups`)
    groups: torch.Tensor | None = None

    @property
    def evidence_inputs(self):
        """What `AudioLMM.logits_at(..., evidence=)` takes, or None."""
        return None if self.evidence is None else (self.positions, self.evidence, self.evidence_mask)

    def to(self, device: torch.device | str) -> Batch:
        def move(t: torch.Tensor | None) -> torch.Tensor | None:
            return None if t is None else t.to(device)

        return Batch(
            self.input_ids.to(device),
            self.attention_mask.to(device),
            self.labels.to(device),
            [f.to(device) for f in self.audio_feats],
            self.n_chosen,
            self.rejected_owner.to(device),
            move(self.positions),
            move(self.label_source),
            move(self.evidence),
            move(self.evidence_mask),
            move(self.slot_kinds),
            move(self.groups),
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


def collate_slots(
    examples: list[Any],
    feats: list[torch.Tensor],
    pad_id: int,
    with_rejected: bool = True,
) -> Batch:
    """One input row per utterance (fillers at the slots); one label row per answer, slots only."""
    if any(e.slot_positions is None for e in examples):
        raise ValueError("collate_slots needs examples built with data.answer_inputs: filler")
    length = max(len(e.prompt_ids) + len(e.input_answer_ids) for e in examples)
    k = max(len(e.slot_positions) for e in examples)
    input_ids = torch.full((len(examples), length), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((len(examples), length), dtype=torch.long)
    positions = torch.zeros((len(examples), k), dtype=torch.long)
    kinds = torch.full((len(examples), k), -1, dtype=torch.long)
    label_rows: list[torch.Tensor] = []
    source: list[int] = []
    owner: list[int] = []

    def label_row(answer: list[int], slots: list[int]) -> torch.Tensor:
        row = torch.full((k,), IGNORE_INDEX, dtype=torch.long)
        row[: len(slots)] = torch.tensor([answer[p] for p in slots])
        return row

    for b, e in enumerate(examples):
        n = len(e.prompt_ids) + len(e.input_answer_ids)
        input_ids[b, :n] = torch.tensor(e.prompt_ids + e.input_answer_ids)
        attention_mask[b, :n] = 1
        # The token at position p is predicted by the logits at p - 1.
        positions[b, : len(e.slot_positions)] = torch.tensor(e.slot_positions) + len(e.prompt_ids) - 1
        if getattr(e, "slot_kinds", None) is not None:
            kinds[b, : len(e.slot_kinds)] = torch.tensor(e.slot_kinds, dtype=torch.long)
        label_rows.append(label_row(e.chosen_ids, e.slot_positions))
        source.append(b)
    if with_rejected:
        for b, e in enumerate(examples):
            for r in e.rejected_ids:
                label_rows.append(label_row(r, e.slot_positions))
                source.append(b)
                owner.append(b)
    evidence = mask = None
    if getattr(examples[0], "evidence_path", None) is not None:
        rows = [torch.load(e.evidence_path, map_location="cpu")[: len(e.slot_positions)] for e in examples]
        evidence = torch.zeros((len(examples), k, rows[0].shape[1]))
        mask = torch.zeros((len(examples), k), dtype=torch.bool)
        for b, r in enumerate(rows):
            evidence[b, : len(r)] = r
            mask[b, : len(r)] = True
    return Batch(
        input_ids,
        attention_mask,
        torch.stack(label_rows),
        list(feats),
        len(examples),
        torch.tensor(owner, dtype=torch.long),
        positions,
        torch.tensor(source, dtype=torch.long),
        evidence,
        mask,
        kinds,
    )


def split_groups(batch: Batch) -> list[tuple[torch.Tensor, Batch]]:
    """Each micro-batch of a stacked batch (``batch.groups``) as its own batch, in group order.

    Returns, per micro-batch, the rows of the model's output that are its own (input rows for shared
    inputs, whose logits every label row reads; else its chosen rows, then its rejected rows) and its
    labels and row bookkeeping as `collate` or `collate_slots` would give them for it alone. The
    positions and labels keep the stack's width: the extra columns are padding (-100), read by nothing.
    """
    if batch.groups is None:
        raise ValueError("split_groups needs a stacked batch (Batch.groups set)")
    out = []
    for g in batch.groups.unique().tolist():
        chosen = (batch.groups == g).nonzero().squeeze(1)
        rejected = torch.isin(batch.rejected_owner, chosen).nonzero().squeeze(1)
        local = torch.full((batch.n_chosen,), -1, dtype=torch.long, device=chosen.device)
        local[chosen] = torch.arange(len(chosen), device=chosen.device)
        label_rows = torch.cat([chosen, batch.n_chosen + rejected])
        rows = label_rows if batch.positions is None else chosen

        def pick(t: torch.Tensor | None, rows: torch.Tensor = rows) -> torch.Tensor | None:
            return None if t is None else t[rows]

        sub = Batch(
            batch.input_ids[rows],
            batch.attention_mask[rows],
            batch.labels[label_rows],
            [batch.audio_feats[i] for i in rows.tolist()],
            len(chosen),
            local[batch.rejected_owner[rejected]],
            pick(batch.positions),
            None if batch.label_source is None else local[batch.label_source[label_rows]],
            pick(batch.evidence),
            pick(batch.evidence_mask),
            pick(batch.slot_kinds),
        )
        out.append((rows, sub))
    return out
