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

from dataclasses import dataclass

import torch

from lmm_apa.data.records import Utterance
from lmm_apa.models.backbone import AudioLMM
from lmm_apa.tasks.answer import SLOT_FILLER, UNITS_PER_POINT, Slot, slot_token_ids, token_layout, with_scores
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
    """``evidence``: the aligner's per-slot evidence (n_slots, W) in slot order (`slot_evidence`), for
    a model with an evidence projector; it is added at the positions whose logits read the slots."""
    prompt = lmm.prompt_ids(build_prompt(reference, task), len(feats))
    layout = token_layout(reference, task, lmm.tokenizer, filler=filler)
    answer = torch.tensor(layout.ids)
    slot_at = torch.tensor(layout.slot_positions, dtype=torch.long)
    # The token at position p is predicted by the logits at p - 1.
    at = (len(prompt) + slot_at - 1).unsqueeze(0)
    symbols = torch.tensor(slot_token_ids(lmm.tokenizer))
    extra = None
    if evidence is not None:
        vectors = torch.as_tensor(evidence, dtype=torch.float32).unsqueeze(0)
        extra = (at, vectors, torch.ones(at.shape, dtype=torch.bool))
    for _ in range(passes):
        ids = torch.cat([torch.tensor(prompt), answer]).unsqueeze(0)
        logits = lmm.logits_at(ids, torch.ones_like(ids), [feats], at, extra)[0]
        probs = logits[:, symbols].float().softmax(-1).cpu()
        answer[slot_at] = symbols[probs.argmax(-1)]
    units = torch.arange(probs.shape[1], dtype=torch.float32)
    mean_units = probs @ units
    std_units = (probs @ units**2 - mean_units**2).clamp_min(0).sqrt()
    mean, std = {}, {}
    for i, slot in enumerate(layout.slots):
        scale = UNITS_PER_POINT[slot.granularity]
        mean[slot] = float(mean_units[i]) / scale
        std[slot] = float(std_units[i]) / scale
    return SlotReadout(with_scores(reference, mean), layout.slots, probs, mean, std)
