"""The shipped aligner hears what was said: sanity checks on held-out corpus recordings.

The recordings are from dev25, whose speakers the phone recogniser and its readout never saw.
"""

import numpy as np
import pytest

from lmm_apa.align.evidence_scorer import SCORER_FILE, EvidenceScorer
from lmm_apa.align.head import DEFAULT_HEAD

pytestmark = pytest.mark.skipif(not (DEFAULT_HEAD / SCORER_FILE).is_file(), reason="no shipped aligner")


@pytest.fixture(scope="module")
def listener():
    from lmm_apa.align.frontend import Listener

    return Listener()


@pytest.fixture(scope="module")
def recordings(corpus_dir):
    """Six dev25 recordings of at least four words, with their audio."""
    from lmm_apa.data.audio import load_audio
    from lmm_apa.data.splits import load_split
    from lmm_apa.eval.report import spread_sample

    dev = [u for u in load_split(corpus_dir, "dev25") if len(u.words) >= 4]
    return [(u.unlabelled(), load_audio(u.audio_path)) for u in spread_sample(dev, 6)]


def flagged(heard) -> list[bool]:
    return [
        EvidenceScorer.error_type(wa, w.accuracy) != "none"
        for wa, w in zip(heard.alignment.words, heard.evidence.words, strict=True)
    ]


def test_segments_are_ordered_inside_the_recording_and_do_not_overlap(listener, recordings):
    for ref, wave in recordings:
        al = listener.hear(wave, ref).alignment
        said = [w for w in al.words if not w.omitted]
        assert len(said) >= len(al.words) - 1, "a correct reading lost more than one word"
        duration = len(wave) / 16000
        for w in said:
            assert 0 <= w.start < w.end <= duration + 0.02
            bounds = [(p.start, p.end) for p in w.phones]
            assert bounds[0][0] == w.start and bounds[-1][1] == w.end
            assert all(a[1] <= b[0] for a, b in zip(bounds, bounds[1:], strict=False))
        assert all(a.end <= b.start for a, b in zip(said, said[1:], strict=False))


def test_another_sentences_text_is_mostly_flagged(listener, recordings):
    total = hits = 0
    for i, (_, wave) in enumerate(recordings):
        other = next(r for r, _ in recordings[i + 1 :] + recordings[:i] if r.text != recordings[i][0].text)
        marks = flagged(listener.hear(wave, other))
        total, hits = total + len(marks), hits + sum(marks)
    own = [sum(flagged(listener.hear(w, r))) / len(r.words) for r, w in recordings]
    assert hits / total >= 0.7, f"only {hits} of {total} words of a wrong text flagged"
    assert np.mean(own) < 0.35, "the recordings' own texts are flagged as much as a wrong text"


def test_words_after_a_cut_are_omitted_and_words_before_are_kept(listener, recordings):
    unsaid = unsaid_omitted = said = said_kept = 0
    for ref, wave in recordings:
        full = listener.hear(wave, ref).alignment
        half = len(wave) / 2 / 16000
        cut = listener.hear(wave[: len(wave) // 2], ref)
        marks = flagged(cut)
        for w_full, w_cut, mark in zip(full.words, cut.alignment.words, marks, strict=True):
            if w_full.omitted:
                continue
            if w_full.start >= half:
                unsaid, unsaid_omitted = unsaid + 1, unsaid_omitted + w_cut.omitted
            elif w_full.end <= half:
                said, said_kept = said + 1, said_kept + (not mark)
    assert unsaid >= 6 and said >= 6
    assert unsaid_omitted / unsaid >= 0.8, f"{unsaid_omitted} of {unsaid} unsaid words omitted"
    assert said_kept / said >= 0.6, f"{said_kept} of {said} said words kept"


def test_a_recording_far_shorter_than_its_text_is_handled(listener, recordings):
    ref, wave = recordings[0]
    from lmm_apa.infer.reference import reference_utterance

    long_text = reference_utterance(" ".join([recordings[k][0].text for k in range(len(recordings))] * 3))
    assert len(long_text.words) >= 40
    heard = listener.hear(wave[: 2 * 16000], long_text)
    omitted = sum(w.omitted for w in heard.alignment.words)
    assert omitted >= len(long_text.words) - 12
    assert heard.evidence.completeness <= 3.0


def test_noise_and_guessed_phones_give_flagged_words_not_errors(listener):
    from lmm_apa.infer.reference import reference_utterance

    rng = np.random.default_rng(0)
    noise = (0.05 * rng.standard_normal(3 * 16000)).astype(np.float32)
    ref = reference_utterance("Zorblaxian wizards quickly juggle")  # ZORBLAXIAN: letter-to-sound phones
    heard = listener.hear(noise, ref)
    marks = flagged(heard)
    assert sum(marks) >= 3
    assert heard.evidence.accuracy <= 5.0


def test_segment_inputs_follow_the_alignment(listener, recordings):
    """The forced-alignment slot inputs (variant b): each phone slot pools its own segment, a word
    past a cut reads as unsaid, and the sentence slot pools all speech."""
    from lmm_apa.tasks.answer import slots
    from lmm_apa.tasks.slot_evidence import SEGMENT_EXTRAS, input_width, slot_inputs, slot_segments

    ref, wave = recordings[0]
    heard = listener.hear(wave[: len(wave) // 2], ref)
    al, slot_list = heard.alignment, slots(ref, "multi")
    seg = slot_segments(al, slot_list)
    said_col = seg.shape[1] - len(SEGMENT_EXTRAS) + 1
    for row, slot in zip(seg, slot_list, strict=True):
        if slot.granularity == "sentence":
            assert row[said_col] == 1.0
            speech = sum(p.end - p.start for w in al.words for p in w.phones if p.start is not None)
            assert row[said_col - 1] == pytest.approx(np.log(speech), abs=1e-4)
        elif slot.granularity == "word":
            assert row[said_col] == float(not al.words[slot.word].omitted)
        else:
            p = al.words[slot.word].phones[slot.phone]
            if p.start is None:
                assert not row.any() or row[said_col] == 0.0
            else:
                z = (p.frames - p.frames.mean()) / (p.frames.std() + 1e-5)
                np.testing.assert_allclose(row[: len(z)], np.clip(z, -8, 8), atol=1e-4)
    assert any(w.omitted for w in al.words)  # the cut is heard
    for kind in ("gop", "segments", "gop+segments"):
        x = slot_inputs(kind, listener.evidence_scorer, al, slot_list)
        assert (
            x.shape == (len(slot_list), input_width(kind, listener.evidence_scorer)) and np.isfinite(x).all()
        )
