"""Does a scorer listen? The two probes the benches and the regression tests share.

- *Another text*: a recording scored against another recording's text; a scorer that listens gives
  it low sentence and word accuracy.
- *Cut short*: a recording cut after ``cut_s`` seconds and scored against its own text. Which words
  were said is read from the **whole** recording's alignment: a word that ended before the cut was
  said (its score should stay), a word that started after it was not (its score should be low).
  Words across the cut, and words the whole recording already omits, are neither.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from lmm_apa.align.aligner import Alignment
from lmm_apa.data.records import Utterance

SAID = "cut_half.said_word_accuracy"
UNSAID = "cut_half.unsaid_word_accuracy"
OTHER_SENTENCE = "wrong_text.sentence_accuracy"
OTHER_WORDS = "wrong_text.word_accuracy"


def cut_word_scores(pred: Utterance, full: Alignment, cut_s: float) -> dict[str, list[float | None]]:
    """The cut recording's word accuracies under `SAID` and `UNSAID` (see the module docstring)."""
    if len(pred.words) != len(full.words):
        raise ValueError(f"{len(pred.words)} scored words against {len(full.words)} aligned ones")
    out: dict[str, list[float | None]] = {SAID: [], UNSAID: []}
    for w, fw in zip(pred.words, full.words, strict=True):
        if fw.omitted or fw.start is None or fw.end is None:
            continue
        if fw.end <= cut_s:
            out[SAID].append(w.accuracy)
        elif fw.start >= cut_s:
            out[UNSAID].append(w.accuracy)
    return out


def other_text_scores(pred: Utterance) -> dict[str, list[float | None]]:
    """A recording scored against another text: its sentence accuracy and word accuracies."""
    return {OTHER_SENTENCE: [pred.accuracy], OTHER_WORDS: [w.accuracy for w in pred.words]}


def against_other_text(scorer: Any, items: Sequence[tuple[np.ndarray, str]]) -> dict[str, list[float]]:
    """The LMM alone (`Scorer.lmm_scores`, no blend) on each item (wave, its text), against its text
    and against the next item's different text: ``own`` and ``other`` sentence accuracy, and
    ``other_words``, the mean word accuracy against the other text (`other_text_scores`)."""
    from lmm_apa.infer.reference import reference_utterance

    def scores(wave: np.ndarray, text: str) -> Utterance:
        ref = reference_utterance(text)
        return scorer.lmm_scores(ref, wave, scorer.listener.hear(wave, ref)).utterance

    out: dict[str, list[float]] = {"own": [], "other": [], "other_words": []}
    items = list(items)
    for i, (wave, text) in enumerate(items):
        another = next(t for _, t in items[i + 1 :] + items[:i] if t.upper() != text.upper())
        out["own"].append(scores(wave, text).accuracy)
        wrong = other_text_scores(scores(wave, another))
        out["other"].append(wrong[OTHER_SENTENCE][0])
        out["other_words"].append(float(np.mean(wrong[OTHER_WORDS])))
    return out
