"""Each answer slot's evidence row, from the shipped aligner on made-up encoder frames."""

import numpy as np
import pytest

from lmm_apa.align.aligner import Aligner
from lmm_apa.align.evidence_scorer import EvidenceScorer
from lmm_apa.align.head import DEFAULT_HEAD
from lmm_apa.data.records import Phone, Utterance, Word
from lmm_apa.tasks.answer import slots
from lmm_apa.tasks.slot_evidence import (
    EVIDENCE_KINDS,
    GRANULARITIES,
    WHISPER_BASE_D,
    evidence_width,
    input_width,
    segment_width,
    slot_inputs,
    slot_segments,
)

REFERENCE = Utterance(
    utt_id="u",
    text="SEE YOU",
    words=[
        Word(text="SEE", phones=[Phone(symbol="S"), Phone(symbol="IY1")]),
        Word(text="YOU", phones=[Phone(symbol="Y"), Phone(symbol="UW1")]),
    ],
)


@pytest.fixture(scope="module")
def scored():
    scorer = EvidenceScorer.load(DEFAULT_HEAD)
    frames = np.random.default_rng(0).normal(size=(80, WHISPER_BASE_D)).astype(np.float32)
    return scorer, Aligner().align(frames, REFERENCE)


@pytest.mark.parametrize("kind", EVIDENCE_KINDS)
def test_every_slot_gets_a_bounded_row_of_its_kinds_width(scored, kind):
    scorer, al = scored
    slot_list = slots(REFERENCE, "multi")
    x = slot_inputs(kind, scorer, al, slot_list)
    assert x.shape == (len(slot_list), input_width(kind, scorer)) and x.dtype == np.float32
    assert np.isfinite(x).all() and np.abs(x).max() <= 8.0


def test_a_gop_row_ends_with_its_slots_granularity(scored):
    scorer, al = scored
    slot_list = slots(REFERENCE, "multi")
    x = slot_inputs("gop", scorer, al, slot_list)
    onehot = x[:, evidence_width(scorer) - len(GRANULARITIES) :]
    assert [GRANULARITIES[i] for i in onehot.argmax(axis=1)] == [s.granularity for s in slot_list]
    assert (onehot.sum(axis=1) == 1).all()


def test_segment_rows_pool_the_slots_own_sound(scored):
    _, al = scored
    slot_list = slots(REFERENCE, "phone")
    seg = slot_segments(al, slot_list)
    assert seg.shape == (len(slot_list), segment_width(WHISPER_BASE_D))
    said = [p for w in al.words for p in w.phones]
    for row, slot in zip(seg, slot_list, strict=True):
        phone = al.words[slot.word].phones[slot.phone]
        if phone.start is None:
            assert row[-1] == 0.0
            continue
        assert row[-1] == 1.0  # said
        assert row[-2] == pytest.approx(np.log(phone.end - phone.start), abs=1e-5)
    assert len(said) == 4


def test_an_unknown_kind_is_refused(scored):
    scorer, al = scored
    with pytest.raises(ValueError, match="evidence kind must be one of"):
        input_width("frames", scorer)
    with pytest.raises(ValueError, match="evidence kind must be one of"):
        slot_inputs("frames", scorer, al, slots(REFERENCE, "sentence"))
