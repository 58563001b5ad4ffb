"""Put what the aligner heard into a scored utterance: times, omissions, heard phones, insertions.

Rules, so that the scores agree with what was said:
- a word the aligner found unsaid is an ``omission``: accuracy and total 0, stress 5 (the bottom of
  its scale), its phones 0, no times;
- a said word whose evidence readout accuracy is below the policy's ``mispronunciation_below`` is
  a ``mispronunciation``; otherwise ``none``;
- sentence completeness is the share of words said, 0-10, as the corpus defines it; and, under the
  policy's ``completeness_cap``, no sentence score is above it when words are missing (reading half
  a sentence well is not a 9);
- ``phones-heard``: where the evidence readout scores a said phone below the policy's
  ``heard_below`` (more wrong than right), the phone the recogniser heard most in its place; None
  elsewhere.

The thresholds are the scorer's `ScoringPolicy` (`lmm_apa.infer.policy`); `DEFAULT_POLICY` holds
the shipped ones.
"""

from __future__ import annotations

from lmm_apa.align.aligner import Alignment
from lmm_apa.align.evidence_scorer import OMITTED_STRESS, EvidenceScorer
from lmm_apa.data.records import SENTENCE_ASPECTS, WORD_ASPECTS, Insertion, Phone, Utterance, Word
from lmm_apa.infer.policy import DEFAULT_POLICY, ScoringPolicy


def with_alignment(
    scored: Utterance, alignment: Alignment, evidence: Utterance, policy: ScoringPolicy = DEFAULT_POLICY
) -> Utterance:
    words: list[Word] = []
    for w, wa, ev in zip(scored.words, alignment.words, evidence.words, strict=True):
        heard = zip(wa.phones, ev.phones, strict=True)
        update: dict = {
            "start": _r(wa.start),
            "end": _r(wa.end),
            "error_type": EvidenceScorer.error_type(wa, ev.accuracy, policy.mispronunciation_below),
            "phones_start": [_r(p.start) for p in wa.phones],
            "phones_end": [_r(p.end) for p in wa.phones],
            "phones_heard": [EvidenceScorer.heard_phone(p, q.accuracy, policy.heard_below) for p, q in heard],
        }
        if wa.omitted:
            update |= {
                "accuracy": 0.0 if w.accuracy is not None else None,
                "total": 0.0 if w.total is not None else None,
                "stress": OMITTED_STRESS if w.stress is not None else None,
                "phones": [
                    Phone(symbol=p.symbol, accuracy=0.0 if p.accuracy is not None else None) for p in w.phones
                ],
            }
        words.append(w.model_copy(update=update))
    completeness = 10.0 * alignment.said / len(alignment.words)
    sentence: dict = {}
    if any(scored.score(a) is not None for a in SENTENCE_ASPECTS):
        sentence["completeness"] = completeness
        cap = completeness if policy.completeness_cap else None
        for a in SENTENCE_ASPECTS:
            if a != "completeness" and scored.score(a) is not None:
                sentence[a] = scored.score(a) if cap is None else min(scored.score(a), cap)
    insertions = [Insertion(start=_r(s), end=_r(e), after_word=k) for s, e, k in alignment.insertions]
    out = scored.model_copy(update={"words": words, "insertions": insertions, **sentence})
    # model_copy does not validate: check the merged result against the schema once.
    return Utterance.model_validate(out.model_dump())


def _r(x: float | None) -> float | None:
    return None if x is None else round(float(x), 3)


def blend_scores(lmm: Utterance, evidence: Utterance, share: float | dict[str, float]) -> Utterance:
    """Every score the two share as ``share * lmm + (1 - share) * evidence``; the LMM's otherwise.

    ``share`` is one number or one per granularity ("sentence", "word", "phone"; missing: 1).
    """
    shares = share if isinstance(share, dict) else {g: share for g in ("sentence", "word", "phone")}

    def mix(granularity: str, a: float | None, b: float | None) -> float | None:
        w = shares.get(granularity, 1.0)
        if w == 0.0:  # the evidence's alone (the scorer need not even read the LMM's: a is None)
            return b
        return a if a is None or b is None else w * a + (1.0 - w) * b

    words = []
    for w, e in zip(lmm.words, evidence.words, strict=True):
        phones = [
            p.model_copy(update={"accuracy": mix("phone", p.accuracy, q.accuracy)})
            for p, q in zip(w.phones, e.phones, strict=True)
        ]
        scores = {a: mix("word", w.score(a), e.score(a)) for a in WORD_ASPECTS}
        words.append(w.model_copy(update={"phones": phones, **scores}))
    sentence = {a: mix("sentence", lmm.score(a), evidence.score(a)) for a in SENTENCE_ASPECTS}
    return lmm.model_copy(update={"words": words, **sentence})
