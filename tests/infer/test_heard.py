"""The rules that put an alignment into a scored utterance (infer/heard.py), on hand-made alignments."""

import numpy as np
import pytest

from lmm_apa.align.aligner import Alignment, PhoneAlignment, WordAlignment
from lmm_apa.align.evidence_scorer import HEARD_BELOW
from lmm_apa.data.records import Phone, Utterance, Word
from lmm_apa.infer.heard import blend_scores, with_alignment


def scored(acc: float = 8.0) -> Utterance:
    words = [
        Word(text=t, accuracy=acc, stress=10.0, total=acc, phones=[Phone(symbol=p, accuracy=1.8) for p in ps])
        for t, ps in (("WE", ["W", "IY0"]), ("CALL", ["K", "AO0", "L"]))
    ]
    return Utterance(utt_id="u", text="WE CALL", words=words, accuracy=8.0, completeness=10.0, fluency=9.0,
                     prosodic=9.0, total=8.0)  # fmt: skip


def phone(symbol: str, start: float | None, rival: str = "AH") -> PhoneAlignment:
    end = None if start is None else start + 0.1
    rival = None if start is None else rival
    return PhoneAlignment(symbol, start, end, rival, {}, np.zeros(39), np.zeros(4), np.zeros(4))


def alignment(second_said: bool) -> Alignment:
    we = WordAlignment("WE", 0.1, 0.3, False, [phone("W", 0.1), phone("IY0", 0.2, rival="IH")], {})
    if second_said:
        call = WordAlignment(
            "CALL", 0.5, 0.8, False, [phone("K", 0.5), phone("AO0", 0.6), phone("L", 0.7)], {}
        )
    else:
        call = WordAlignment(
            "CALL", None, None, True, [phone("K", None), phone("AO0", None), phone("L", None)], {}
        )
    return Alignment([we, call], insertions=[(0.3, 0.45, 0)], duration=1.0)


def test_an_omitted_word_scores_zero_and_caps_the_sentence():
    evidence = scored(acc=3.0)
    evidence.words[0].phones[1] = Phone(symbol="IY0", accuracy=0.4)
    out = with_alignment(scored(), alignment(second_said=False), evidence)
    we, call = out.words
    assert call.error_type == "omission" and call.accuracy == 0 and call.total == 0 and call.stress == 5
    assert [p.accuracy for p in call.phones] == [0, 0, 0] and call.start is None
    assert call.phones_heard == [None, None, None]  # unsaid: omitted, not heard as something else
    assert we.error_type == "mispronunciation"  # the evidence readout said 3 < 6
    assert we.phones_heard == [None, "IH"] and we.phones_start == [0.1, 0.2]
    assert out.completeness == 5.0
    assert all(out.score(a) <= 5.0 for a in ("accuracy", "fluency", "prosodic", "total"))
    assert [(i.start, i.end, i.after_word) for i in out.insertions] == [(0.3, 0.45, 0)]


def test_a_phone_is_heard_as_its_rival_only_where_the_evidence_scores_it_wrong():
    evidence = scored(acc=9.0)
    evidence.words[0].phones[1] = Phone(symbol="IY0", accuracy=0.6)  # below HEARD_BELOW
    evidence.words[1].phones[0] = Phone(symbol="K", accuracy=HEARD_BELOW)  # at the cut: heard as written
    out = with_alignment(scored(), alignment(second_said=True), evidence)
    assert out.words[0].phones_heard == [None, "IH"]
    assert out.words[1].phones_heard == [None, None, None]
    # the model's own phone scores are what the user reads; the flag comes from the evidence
    assert out.words[0].phones[1].accuracy == 1.8


def test_a_full_reading_keeps_the_models_scores():
    out = with_alignment(scored(), alignment(second_said=True), scored(acc=9.0))
    assert [w.error_type for w in out.words] == ["none", "none"]
    assert out.accuracy == 8.0 and out.fluency == 9.0 and out.completeness == 10.0
    assert out.words[1].accuracy == 8.0 and out.words[1].end == pytest.approx(0.8)


def test_blend_mixes_every_shared_score():
    out = blend_scores(scored(acc=8.0), scored(acc=4.0), {"word": 0.25, "phone": 0.0})
    assert out.words[0].accuracy == pytest.approx(5.0)
    assert out.words[0].phones[0].accuracy == pytest.approx(1.8)  # both 1.8
    assert out.accuracy == pytest.approx(8.0)


def test_the_policy_sets_the_cap_and_the_thresholds():
    """The same alignment under another policy: no completeness cap, a lower mispronunciation
    threshold, a higher heard-phone one."""
    from lmm_apa.infer.policy import DEFAULT_POLICY, ScoringPolicy

    evidence = scored(acc=3.0)
    evidence.words[0].phones[0] = Phone(symbol="W", accuracy=1.2)  # above the shipped cut of 1
    policy = ScoringPolicy(completeness_cap=False, mispronunciation_below=2.0, heard_below=1.5)
    out = with_alignment(scored(), alignment(second_said=False), evidence, policy)
    shipped = with_alignment(scored(), alignment(second_said=False), evidence, DEFAULT_POLICY)
    assert out.completeness == shipped.completeness == 5.0
    assert (out.accuracy, out.fluency) == (8.0, 9.0) and (shipped.accuracy, shipped.fluency) == (5.0, 5.0)
    assert out.words[0].error_type == "none" and shipped.words[0].error_type == "mispronunciation"
    assert out.words[0].phones_heard == ["AH", None] and shipped.words[0].phones_heard == [None, None]
