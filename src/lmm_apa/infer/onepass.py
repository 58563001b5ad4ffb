"""One-pass expected scores: read every score slot's distribution from a single forward pass.

The words and phones are known from the reference, so the answer's skeleton is known too; only the
slot values vary. We run the prompt plus the skeleton through the model once (teacher forcing) and,
at each slot, take the softmax over the 11 slot symbols only. Its mean is a continuous score (no
ties, unlike a generated integer) and its standard deviation says how sure the model is. There is
no free-running decoding, so nothing can fail to parse.

Earlier slots must hold *some* symbol while later slots are read; ``filler`` is that symbol. The
default, ``X`` (10), is the most frequent label at the word and phone levels. A model trained with
``data.answer_inputs: filler`` saw exactly this input, so one pass is its native readout. A model
trained with the true scores in those places (teacher forcing, the paper's setting) reads better
with ``passes=2``: every slot is refilled with the first pass's most likely symbol and the
distributions are read again (twice the cost, still no free-running decoding).
"""

from collections.abc import Collection
from dataclasses import dataclass

import torch

from lmm_apa.data.records import Utterance
from lmm_apa.models.backbone import AudioLMM
from lmm_apa.tasks.answer import (
    SLOT_FILLER,
    SLOT_SYMBOLS,
    UNITS_PER_POINT,
    Slot,
    TokenLayout,
    slot_token_ids,
    token_layout,
    with_scores,
)
from lmm_apa.tasks.prompts import build_prompt

DEFAULT_FILLER = SLOT_FILLER


@dataclass
class SlotReadout:
    """Per slot: the probabilities over the 11 symbols, and the expected score with its spread."""

    utterance: Utterance  # the reference holding the expected scores
    slots: list[Slot]
    probs: torch.Tensor  # (n_slots, 11)
    mean: dict[Slot, float]
    std: dict[Slot, float]


@torch.no_grad()
def onepass_scores(
    lmm: AudioLMM,
    feats: torch.Tensor,
    reference: Utterance,
    task: str,
    filler: str = DEFAULT_FILLER,
    passes: int = 1,
    evidence=None,
) -> SlotReadout:
    """The slot readout of one utterance: `onepass_scores_batch` of one row (no padding).

    ``evidence``: the aligner's per-slot evidence (n_slots, W) in slot order (`slot_evidence`), for
    a model with an evidence projector; it is added at the positions whose logits read the slots."""
    batch = onepass_scores_batch(
        lmm, [feats], [reference], task, filler, passes, None if evidence is None else [evidence]
    )
    return batch[0]


def slot_moments(probs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and standard deviation, in symbol units, of each slot's distribution (last dim: the 11
    symbols).

    A float32 softmax sums to 1 only to rounding, so a slot sure of its top symbol can read a hair
    above it (10.0000005 units: a phone accuracy of 2.0000002, which the answer schema refuses);
    the mean is clamped to the symbols' range.
    """
    units = torch.arange(probs.shape[-1], dtype=torch.float32)
    mean_units = (probs @ units).clamp(0, probs.shape[-1] - 1)
    std_units = (probs @ units**2 - mean_units**2).clamp_min(0).sqrt()
    return mean_units, std_units


# A batch's padded size (rows x longest row): bounds the activations of one forward pass.
MAX_BATCH_TOKENS = 8192


@torch.no_grad()
def onepass_scores_batch(
    lmm: AudioLMM,
    feats: list[torch.Tensor],
    references: list[Utterance],
    task: str,
    filler: str = DEFAULT_FILLER,
    passes: int = 1,
    evidence: list | None = None,
    batch_size: int = 8,
    max_tokens: int = MAX_BATCH_TOKENS,
    granularities: Collection[str] | None = None,
) -> list[SlotReadout]:
    """`onepass_scores` for many utterances, ``batch_size`` rows a forward pass; readouts in input order.

    Rows are sorted by length (little padding) and right-padded: every real token keeps its
    position (0, 1, ...) and, the mask being causal, never attends to the padding after it, so
    each row reads what it would read alone (up to float rounding of the larger matmuls).

    ``granularities``: read only the slots of these (None: all). The model is causal, so a slot's
    distribution depends on the tokens before it alone: the answer is cut after the last slot read
    (the sentence slots come first: reading only them costs the prompt and a dozen tokens).
    """
    if len(feats) != len(references) or (evidence is not None and len(evidence) != len(feats)):
        raise ValueError("feats, references (and evidence) must have one entry per utterance")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    evidence = None if evidence is None else list(evidence)  # rows cut below; the caller's list stays
    rows = []
    for k, (f, ref) in enumerate(zip(feats, references, strict=True)):
        prompt = lmm.prompt_ids(build_prompt(ref, task), len(f))
        layout = token_layout(ref, task, lmm.tokenizer, filler=filler)
        if granularities is not None:
            keep = [j for j, slot in enumerate(layout.slots) if slot.granularity in granularities]
            end = layout.slot_positions[keep[-1]] + 1 if keep else 0
            layout = TokenLayout(
                layout.ids[:end], [layout.slot_positions[j] for j in keep], [layout.slots[j] for j in keep]
            )
            if evidence is not None:
                evidence[k] = torch.as_tensor(evidence[k])[keep]
        rows.append((prompt, layout))
    order = sorted(range(len(rows)), key=lambda i: len(rows[i][0]) + len(rows[i][1].ids))
    out: list[SlotReadout | None] = [None] * len(rows)
    for i in [i for i in order if not rows[i][1].slots]:  # nothing to read: no forward pass
        out[i] = _readout(references[i], [], torch.zeros(0, len(SLOT_SYMBOLS)))
    order = [i for i in order if rows[i][1].slots]
    chunk: list[int] = []
    for i in order:
        longest = len(rows[i][0]) + len(rows[i][1].ids)  # sorted: the longest row so far
        if chunk and (len(chunk) == batch_size or (len(chunk) + 1) * longest > max_tokens):
            _forward_rows(lmm, chunk, rows, feats, references, evidence, passes, out)
            chunk = []
        chunk.append(i)
    if chunk:
        _forward_rows(lmm, chunk, rows, feats, references, evidence, passes, out)
    return out  # type: ignore[return-value]


def _forward_rows(lmm, chunk, rows, feats, references, evidence, passes, out) -> None:
    """One padded forward pass (per pass) over the rows in ``chunk``; fills ``out`` at their indices."""
    symbols = torch.tensor(slot_token_ids(lmm.tokenizer))
    prompts = [rows[i][0] for i in chunk]
    layouts = [rows[i][1] for i in chunk]
    answers = [torch.tensor(lay.ids) for lay in layouts]
    slot_at = [torch.tensor(lay.slot_positions, dtype=torch.long) for lay in layouts]
    width = max(len(p) + len(a) for p, a in zip(prompts, answers, strict=True))
    n_slots = max(len(s) for s in slot_at)
    # The token at position p is predicted by the logits at p - 1; padded slots read position 0.
    at = torch.zeros(len(chunk), n_slots, dtype=torch.long)
    valid = torch.zeros(len(chunk), n_slots, dtype=torch.bool)
    for r, (p, s) in enumerate(zip(prompts, slot_at, strict=True)):
        at[r, : len(s)] = len(p) + s - 1
        valid[r, : len(s)] = True
    extra = None
    if evidence is not None:
        vecs = [torch.as_tensor(evidence[i], dtype=torch.float32) for i in chunk]
        vectors = torch.zeros(len(chunk), n_slots, vecs[0].shape[-1])
        for r, v in enumerate(vecs):
            vectors[r, : len(v)] = v
        extra = (at, vectors, valid)
    mask = torch.zeros(len(chunk), width, dtype=torch.long)
    for _ in range(passes):
        ids = torch.full((len(chunk), width), lmm.pad_token_id, dtype=torch.long)
        for r, (p, a) in enumerate(zip(prompts, answers, strict=True)):
            row = torch.cat([torch.tensor(p), a])
            ids[r, : len(row)] = row
            mask[r, : len(row)] = 1
        logits = lmm.logits_at(ids, mask, [feats[i] for i in chunk], at, extra)
        probs = logits[..., symbols].float().softmax(-1).cpu()  # (rows, n_slots, 11)
        for r, (a, s) in enumerate(zip(answers, slot_at, strict=True)):
            a[s] = symbols[probs[r, : len(s)].argmax(-1)]
    for r, i in enumerate(chunk):
        out[i] = _readout(references[i], layouts[r].slots, probs[r, : len(slot_at[r])])


def _readout(reference: Utterance, slot_list: list[Slot], probs: torch.Tensor) -> SlotReadout:
    """Expected score and spread of every slot from its distribution over the 11 symbols."""
    mean_units, std_units = slot_moments(probs)
    mean, std = {}, {}
    for i, slot in enumerate(slot_list):
        scale = UNITS_PER_POINT[slot.granularity]
        mean[slot] = float(mean_units[i]) / scale
        std[slot] = float(std_units[i]) / scale
    return SlotReadout(with_scores(reference, mean), slot_list, probs, mean, std)
