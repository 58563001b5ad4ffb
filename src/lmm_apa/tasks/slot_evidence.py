"""The aligner's evidence for each score slot of an answer: what an LMM reads at that slot.

For the LMM to score a phone from that phone's evidence (issue "The LMM hears"), every slot gets one
vector: the evidence scorer's standardised input row for its phone, its word or the sentence
(`lmm_apa.align.evidence_scorer`: GOP statistics, phone-mass shares, pooled recogniser state, and at the
word and sentence levels the scorer's own predictions below them), zero-padded to a common width,
with the slot's granularity one-hot at the end. A projector in the LMM (`AudioLMM`) maps it into
the embedding at the position whose logits predict the slot.

What a slot reads is its *kind* (the issue's input variants, `EVIDENCE_KINDS`):

- ``gop``: the recogniser's judgement, as above (variant c);
- ``segments``: only where the slot's sound is, the Whisper-base frames pooled over its aligned
  segment (its phone's, its word's, or all speech for the sentence) with the segment's duration and
  whether it was said (variant b: the forced-alignment inputs, with no phone recogniser's judgement);
- ``gop+segments``: both (variant d).

Comparing ``segments`` with ``gop`` asks the seed's question: does the phone level fail because the
LMM cannot find the phone in the audio (segmentation), or because it cannot judge what it finds
(representation)?
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from lmm_apa.tasks.answer import Slot

if TYPE_CHECKING:
    from lmm_apa.align.aligner import Alignment
    from lmm_apa.align.evidence_scorer import EvidenceScorer

GRANULARITIES = ("sentence", "word", "phone")
EVIDENCE_KINDS = ("gop", "segments", "gop+segments")
WHISPER_BASE_D = 512  # the aligner always reads Whisper-base frames, whatever the LMM's encoder
SEGMENT_EXTRAS = ("log_duration", "said")  # after the pooled frames of a ``segments`` row


def evidence_width(scorer: EvidenceScorer) -> int:
    """Width of every slot's vector for this scorer."""
    return max(len(scorer.scalers[g].mean) for g in GRANULARITIES) + len(GRANULARITIES)


def slot_evidence(scorer: EvidenceScorer, al: Alignment, slot_list: list[Slot]) -> np.ndarray:
    """(len(slot_list), evidence_width) float32: each slot's evidence, in slot order."""
    # Imported here: the training config reads EVIDENCE_KINDS from this module and should not load
    # torch (the scorer's MLPs) to do so.
    from lmm_apa.align.evidence_scorer import phone_rows, sentence_row, word_rows

    phone_pred = scorer.predict_phones(al)
    rows = {
        "phone": scorer.scalers["phone"](phone_rows(al)),
        "word": scorer.scalers["word"](word_rows(al, phone_pred)),
    }
    word_pred = scorer.predict_words(al, phone_pred)
    rows["sentence"] = scorer.scalers["sentence"](sentence_row(al, word_pred, phone_pred)[None])
    first_phone = np.cumsum([0] + [len(w.phones) for w in al.words])
    width = evidence_width(scorer)
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


def _pooled(phones: list, frames_dim: int) -> np.ndarray:
    """(frames_dim + 2,): the frames of ``phones``' segments pooled by duration, the log of their
    total duration in seconds, and whether any was said; standardised per row (LayerNorm without
    weights: Whisper's few large channels would otherwise drown the rest)."""
    said = [p for p in phones if p.start is not None and p.end is not None and p.end > p.start]
    out = np.zeros(frames_dim + len(SEGMENT_EXTRAS), dtype=np.float32)
    if not said:
        out[frames_dim] = np.log(0.01)
        return out
    dur = np.array([p.end - p.start for p in said])
    pooled = (np.stack([p.frames for p in said]) * dur[:, None]).sum(axis=0) / dur.sum()
    out[:frames_dim] = (pooled - pooled.mean()) / (pooled.std() + 1e-5)
    out[frames_dim] = np.log(dur.sum())
    out[frames_dim + 1] = 1.0
    return out


def segment_width(frames_dim: int) -> int:
    return frames_dim + len(SEGMENT_EXTRAS)


def slot_segments(al: Alignment, slot_list: list[Slot]) -> np.ndarray:
    """(len(slot_list), segment_width) float32: each slot's aligned audio, in slot order."""
    frames_dim = _frames_dim(al)
    every = [p for w in al.words for p in w.phones]
    out = np.zeros((len(slot_list), segment_width(frames_dim)), dtype=np.float32)
    for i, slot in enumerate(slot_list):
        if slot.granularity == "sentence":
            phones = every
        elif slot.granularity == "word":
            phones = al.words[slot.word].phones
        else:
            phones = [al.words[slot.word].phones[slot.phone]]
        out[i] = _pooled(phones, frames_dim)
    return np.clip(out, -8.0, 8.0)


def _frames_dim(al: Alignment) -> int:
    for w in al.words:
        for p in w.phones:
            return int(p.frames.shape[0])
    raise ValueError("an alignment without phones has no slots to read")


def input_width(kind: str, scorer: EvidenceScorer, frames_dim: int = WHISPER_BASE_D) -> int:
    """Width of every slot's vector of ``kind`` (``frames_dim``: the aligner's encoder frames')."""
    if kind == "gop":
        return evidence_width(scorer)
    if kind == "segments":
        return segment_width(frames_dim) + len(GRANULARITIES)
    if kind == "gop+segments":
        return evidence_width(scorer) + segment_width(frames_dim)
    raise ValueError(f"evidence kind must be one of {EVIDENCE_KINDS}, got {kind!r}")


def slot_inputs(kind: str, scorer: EvidenceScorer, al: Alignment, slot_list: list[Slot]) -> np.ndarray:
    """(len(slot_list), input_width(kind, ...)) float32: what each slot reads, for ``kind``."""
    if kind == "gop":
        return slot_evidence(scorer, al, slot_list)
    segments = slot_segments(al, slot_list)
    if kind == "segments":
        onehot = np.zeros((len(slot_list), len(GRANULARITIES)), dtype=np.float32)
        for i, slot in enumerate(slot_list):
            onehot[i, GRANULARITIES.index(slot.granularity)] = 1.0
        return np.concatenate([segments, onehot], axis=1)
    if kind == "gop+segments":
        return np.concatenate([slot_evidence(scorer, al, slot_list), segments], axis=1)
    raise ValueError(f"evidence kind must be one of {EVIDENCE_KINDS}, got {kind!r}")
