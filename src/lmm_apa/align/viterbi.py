"""CTC forced alignment of a word sequence in which any word may be left unsaid.

The standard CTC lattice (blank, l1, blank, l2, ..., lN, blank) gets one extra arc per word: from
the blank before the word (or the previous word's last phone) straight to the blank after it, at a
log-probability cost. The arc takes no frame, so a run of skipped words (a recording cut short, a
line left out) costs only its penalties. Without it a forced aligner must spend frames on every
word, squeezing unsaid words into whatever audio is left and calling them "heard".

Written in numpy rather than taken from `ctc-segmentation` or torchaudio's `forced_align`: neither
has skip arcs, and the lattice is small (2N + 1 states by 50 frames a second), so one vectorised
pass over the frames costs milliseconds for a sentence. A passage (400 words, 3 minutes) is the same
pass, time and memory linear in frames for a fixed text: the skip arcs of a frame are one cumulative
max over the words (`_skip_arcs`), not a loop, and the emissions are read a frame at a time.
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

    back = np.zeros((n_frames, n_states), dtype=np.int8)  # 0 stay, 1 from s-1, 2 from s-2
    # same-frame skip arc: the source state (-1: none); int16 where the lattice fits it, to halve
    # the one (T, S) table a passage keeps
    eps_type = np.int16 if n_states < np.iinfo(np.int16).max else np.int32
    eps = np.full((n_frames, n_states), -1, dtype=eps_type)
    score = np.full(n_states, _NEG)
    score[0] = logp[0, state_class[0]]
    score[1] = logp[0, state_class[1]]
    _skip_arcs(score, eps[0], starts, ends, penalties)
    cols = np.arange(n_states)
    for t in range(1, n_frames):
        prev1 = np.concatenate(([_NEG], score[:-1]))
        prev2 = np.where(skip_ok, np.concatenate(([_NEG, _NEG], score[:-2])), _NEG)
        stacked = np.stack([score, prev1, prev2])
        choice = stacked.argmax(axis=0)
        score = stacked[choice, cols] + logp[t, state_class]
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
    """Word w's skip arc, in place: from the blank before it (state 2a, or its previous word's last
    label 2a - 1 where that scores higher) to the blank after it (2b), at a cost of its penalty.

    The arcs chain within one frame (word w's target is word w + 1's source), so the target's new
    score is v_w = max(old_w, max(v_{w-1}, odd_w) - pen_w): a max-plus recurrence that unrolls to
    max over k <= w of (seed_k + C_k) - C_w with C the cumulative penalties, one cumulative max
    instead of a Python loop over the words (the loop made a 400-word passage 10 times slower)."""
    n_words = len(starts)
    cum = np.cumsum(penalties)  # C_w: penalties of words 0..w
    before = cum - penalties  # C_{w-1}
    targets = 2 * np.asarray(ends)
    sources = 2 * np.asarray(starts)
    old = score[targets].copy()
    odd = np.full(n_words, _NEG)
    odd[0] = score[0]  # the first word's source is the lattice's first blank
    odd[1:] = score[sources[1:] - 1]
    # a seed enters either as a target's own score (then pays the penalties after it) or as the
    # odd source of word k (then pays word k's penalty too)
    seeds = np.maximum(old + cum, odd + before)
    best = np.maximum.accumulate(seeds) - cum
    # the unrolled maximum equals a target's old score up to rounding where no arc improves it:
    # such a target keeps its old score to the bit
    reached = np.where(best > old + 1e-9 * np.abs(old), best, old)
    # Each arc's own candidate from its source's score (the previous target's, or the odd label's),
    # compared with the target's old score as the loop compared them.
    prev_blank = np.concatenate(([score[0]], reached[:-1]))
    from_odd = np.zeros(n_words, dtype=bool)
    from_odd[1:] = odd[1:] > prev_blank[1:]
    cand = np.maximum(prev_blank, odd) - penalties
    improved = cand > old
    if not improved.any():
        return
    score[targets] = np.where(improved, cand, old)
    src = np.where(from_odd, sources - 1, sources)
    eps_row[targets[improved]] = src[improved]


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
