"""Forced alignment on posteriors written here: phones at known frames, words said or left out."""

import numpy as np
import pytest

from lmm_apa.align.aligner import FRAME_RATE, Aligner, align_posteriors
from lmm_apa.align.evidence import PHONE_SCALARS, WORD_SCALARS
from lmm_apa.align.head import HeadConfig, PhoneHead
from lmm_apa.align.phoneset import BLANK, N_CLASSES, phone_id
from lmm_apa.data.records import Phone, Utterance, Word
from lmm_apa.errors import DataError

H, D = 6, 4  # recogniser state and encoder frame widths


def utterance(*words: tuple[str, list[str]]) -> Utterance:
    return Utterance(
        utt_id="u",
        text=" ".join(t for t, _ in words),
        words=[Word(text=t, phones=[Phone(symbol=p) for p in ps]) for t, ps in words],
    )


def posteriors(segments: list[tuple[str | None, int]]) -> np.ndarray:
    """Log posteriors: each (phone or None for blank, frames) segment confident in its class."""
    rows = []
    for symbol, n in segments:
        k = BLANK if symbol is None else phone_id(symbol)
        row = np.full(N_CLASSES, 0.02 / (N_CLASSES - 1))
        row[k] = 0.98
        rows += [row] * n
    return np.log(np.array(rows))


def align(logp, reference):
    rng = np.random.default_rng(0)
    hidden, frames = rng.normal(size=(len(logp), H)), rng.normal(size=(len(logp), D)).astype(np.float32)
    return align_posteriors(logp, hidden, frames, reference)


SEE_YOU = utterance(("SEE", ["S", "IY1"]), ("YOU", ["Y", "UW1"]))


def test_said_words_get_ordered_times_and_heard_phone_evidence():
    logp = posteriors([(None, 5), ("S", 4), ("IY", 6), (None, 10), ("Y", 3), ("UW", 7), (None, 5)])
    al = align(logp, SEE_YOU)
    assert al.duration == len(logp) / FRAME_RATE
    assert al.said == 2 and al.insertions == []
    see, you = al.words
    assert see.start < see.end <= you.start < you.end <= al.duration
    assert abs(see.start - 5 / FRAME_RATE) <= 3 / FRAME_RATE + 1e-9  # edge phones reach a few frames out
    assert abs(you.end - 35 / FRAME_RATE) <= 3 / FRAME_RATE + 1e-9
    for w in al.words:
        assert not w.omitted and w.scalars().shape == (len(WORD_SCALARS),)
        for p in w.phones:
            assert p.stats["gop"] > 2 and p.stats["omitted"] == 0.0
            assert p.scalars().shape == (len(PHONE_SCALARS),)
            assert p.state.shape == (H,) and p.frames.shape == (D,)
            assert p.rival is not None and p.rival != p.symbol.rstrip("012")
    assert see.stats["path_vs_free"] > -0.1  # heard as written


def test_a_word_not_in_the_recording_is_omitted_without_times():
    logp = posteriors([(None, 5), ("S", 4), ("IY", 6), (None, 20)])
    al = align(logp, SEE_YOU)
    assert [w.omitted for w in al.words] == [False, True]
    you = al.words[1]
    assert you.start is None and you.end is None
    assert all(p.start is None and p.rival is None and p.stats["omitted"] == 1.0 for p in you.phones)
    assert not you.phones[0].share.any()
    assert al.said == 1


def test_speech_between_words_is_an_insertion():
    logp = posteriors(
        [(None, 5), ("S", 4), ("IY", 6), (None, 4)]
        + [("K", 5), ("AA", 5), ("T", 5), (None, 4)]
        + [("Y", 3), ("UW", 7), (None, 5)]
    )
    al = align(logp, SEE_YOU)
    assert al.said == 2
    assert len(al.insertions) == 1
    start, end, after = al.insertions[0]
    assert after == 0
    assert al.words[0].end <= start < end <= al.words[1].start


@pytest.mark.parametrize(
    "reference",
    [utterance(("SEE", [])), utterance(("SEE", ["S", "QQ"]))],
)
def test_a_reference_without_aligned_phones_is_a_data_error(reference):
    with pytest.raises(DataError, match="u: "):
        align(posteriors([(None, 10)]), reference)


def test_the_aligner_runs_its_recogniser_on_the_frames():
    head = PhoneHead(HeadConfig(d_in=D, d_bottleneck=8, n_layers=1, dropout=0.0))
    frames = np.random.default_rng(1).normal(size=(40, D)).astype(np.float32)
    al = Aligner(head=head).align(frames, SEE_YOU)
    assert len(al.words) == 2 and al.duration == 40 / FRAME_RATE
    said = [p for w in al.words if not w.omitted for p in w.phones]
    assert all(p.state.shape == (head.d_state,) for p in said)
