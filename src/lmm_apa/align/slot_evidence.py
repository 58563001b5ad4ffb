"""The aligner's evidence for each score slot of an answer: what an LMM reads at that slot.

For the LMM to score a phone from that phone's evidence (issue "The LMM hears"), every slot gets one
vector: the evidence readout's standardised input row for its phone, its word or the sentence
(`lmm_apa.align.readout`: GOP statistics, phone-mass shares, pooled recogniser state, and at the
word and sentence levels the readout's own predictions below them), zero-padded to a common width,
with the slot's granularity one-hot at the end. A projector in the LMM (`AudioLMM`) maps it into
the embedding at the position whose logits predict the slot.
"""

from __future__ import annotations

import numpy as np

from lmm_apa.align.aligner import Alignment
from lmm_apa.align.readout import EvidenceReadout, _phone_rows, _sentence_row, _word_rows
from lmm_apa.tasks.answer import Slot

GRANULARITIES = ("sentence", "word", "phone")


def evidence_width(readout: EvidenceReadout) -> int:
    """Width of every slot's vector for this readout."""
    return max(len(readout.scalers[g].mean) for g in GRANULARITIES) + len(GRANULARITIES)


def slot_evidence(readout: EvidenceReadout, al: Alignment, slot_list: list[Slot]) -> np.ndarray:
    """(len(slot_list), evidence_width) float32: each slot's evidence, in slot order."""
    phone_pred = readout._phone_pred(al)
    rows = {
        "phone": readout.scalers["phone"](_phone_rows(al)),
        "word": readout.scalers["word"](_word_rows(al, phone_pred)),
    }
    word_pred = readout._word_pred(al, phone_pred)
    rows["sentence"] = readout.scalers["sentence"](_sentence_row(al, word_pred, phone_pred)[None])
    first_phone = np.cumsum([0] + [len(w.phones) for w in al.words])
    width = evidence_width(readout)
    out = np.zeros((len(slot_list), width), dtype=np.float32)
    for i, slot in enumerate(slot_list):
        if slot.granularity == "sentence":
            row = rows["sentence"][0]
        elif slot.granularity == "word":
            row = rows["word"][slot.word]
        else:
            row = rows["phone"][first_phone[slot.word] + slot.phone]
        out[i, : len(row)] = row
        out[i, width - len(GRANULARITIES) + GRANULARITIES.index(slot.granularity)] = 1.0
    # standardised values of a rare feature can be large; keep the projector's input bounded
    return np.clip(out, -8.0, 8.0)
