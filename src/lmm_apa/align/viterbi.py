"""CTC forced alignment of a word sequence in which any word may be left unsaid.

The standard CTC lattice (blank, l1, blank, l2, ..., lN, blank) gets one extra arc per word: from
the blank before the word (or the previous word's last phone) straight to the blank after it, at a
log-probability cost. The arc takes no frame, so a run of skipped words (a recording cut short, a
line left out) costs only its penalties. Without it a forced aligner must spend frames on every
word, squeezing unsaid words into whatever audio is left and calling them "heard".

Written in numpy rather than taken from `ctc-segmentation` or torchaudio's `forced_align`: neither
has skip arcs, and the lattice is small (2N + 1 states by 50 frames a second), so one vectorised
pass over the frames costs milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lmm_apa.align.phoneset import BLANK

_NEG = -1e30


@dataclass(frozen=True)
class PhoneSpan:
    """Frames [first, last] (inclusive) where the phone's label was on the best path."""

    first: int
    last: int


@dataclass(frozen=True)
class PathResult:
    phones: list[list[PhoneSpan | None]]  # per word, per phone; None for every phone of a skipped word
    skipped: list[bool]
    score: float  # log-probability of the best path, penalties included
    states: np.ndarray  # (T,) lattice state per frame (even: blank, odd: label index * 2 + 1)


def align_words(logp: np.ndarray, words: list[list[int]], skip_penalty: float | list[float]) -> PathResult:
    """Best CTC path through ``words`` (class ids per word) over log posteriors ``logp`` (T, C).

    ``skip_penalty`` (> 0, one value or one per word) is subtracted from the path's log-probability
    for every word it skips. Raises ValueError for an empty word list or a word without phones.
    """
    if not words or any(len(w) == 0 for w in words):
        raise ValueError("every word needs at least one phone")
    logp = np.asarray(logp, dtype=np.float64)
    n_frames = logp.shape[0]
    penalties = np.broadcast_to(np.asarray(skip_penalty, dtype=np.float64), (len(words),))
    labels = np.array([p for w in words for p in w])
    n_states = 2 * len(labels) + 1
    state_class = np.full(n_states, BLANK)
    state_class[1::2] = labels
    # s-2 -> s is allowed into a label that differs from the label two states back.
    skip_ok = np.zeros(n_states, dtype=bool)
    skip_ok[3::2] = labels[1:] != labels[:-1]
    # word w spans labels [a_w, b_w]: its skip arc runs from state 2a_w (or 2a_w - 1) to 2b_w + 2
    ends = np.cumsum([len(w) for w in words])
    starts = ends - np.array([len(w) for w in words])

    emit = logp[:, state_class]  # (T, S)
    back = np.zeros((n_frames, n_states), dtype=np.int8)  # 0 stay, 1 from s-1, 2 from s-2
    eps = np.full((n_frames, n_states), -1, dtype=np.int32)  # same-frame skip arc: the source state
    score = np.full(n_states, _NEG)
    score[0] = emit[0, 0]
    score[1] = emit[0, 1]
    _skip_arcs(score, eps[0], starts, ends, penalties)
    for t in range(1, n_frames):
        prev1 = np.concatenate(([_NEG], score[:-1]))
        prev2 = np.where(skip_ok, np.concatenate(([_NEG, _NEG], score[:-2])), _NEG)
        stacked = np.stack([score, prev1, prev2])
        choice = stacked.argmax(axis=0)
        score = stacked[choice, np.arange(n_states)] + emit[t]
        back[t] = choice
        _skip_arcs(score, eps[t], starts, ends, penalties)

    final = n_states - 1 if score[-1] >= score[-2] else n_states - 2
    total = float(score[final])
    states = np.empty(n_frames, dtype=np.int64)
    s = final
    for t in range(n_frames - 1, -1, -1):
        while eps[t, s] >= 0:  # reached by a skip arc in this frame: the frame belongs to its source
            s = int(eps[t, s])
        states[t] = s
        s -= int(back[t, s])
    return _spans(states, words, starts, ends, total)


def _skip_arcs(score: np.ndarray, eps_row: np.ndarray, starts, ends, penalties) -> None:
    # In word order, so that a run of skips chains within one frame.
    for w, (a, b) in enumerate(zip(starts, ends, strict=True)):
        target = 2 * b  # the blank after the word's last label (label b - 1 -> state 2b - 1)
        src = 2 * a
        if a > 0 and score[src - 1] > score[src]:
            src -= 1
        cand = score[src] - penalties[w]
        if cand > score[target]:
            score[target] = cand
            eps_row[target] = src


def _spans(states: np.ndarray, words, starts, ends, total: float) -> PathResult:
    labels_seen: dict[int, list[int]] = {}
    for t, s in enumerate(states):
        if s % 2 == 1:
            labels_seen.setdefault((s - 1) // 2, []).append(t)
    phones: list[list[PhoneSpan | None]] = []
    skipped: list[bool] = []
    for a, b in zip(starts, ends, strict=True):
        spans = [
            PhoneSpan(min(labels_seen[i]), max(labels_seen[i])) if i in labels_seen else None
            for i in range(a, b)
        ]
        # A path either passes every label of a word or skips the word whole.
        gone = all(s is None for s in spans)
        skipped.append(gone)
        phones.append(spans)
    return PathResult(phones=phones, skipped=skipped, score=total, states=states)
