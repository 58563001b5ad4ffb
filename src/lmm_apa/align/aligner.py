"""`Aligner`: what was said, and when, for any reference text.

``Aligner.align(frames, reference)`` runs the phone recogniser on the encoder frames, force-aligns
the reference's canonical phones with words allowed to go unsaid (`align_words`), and returns an
`Alignment`: word and phone times in seconds, omitted words, extra speech between words, each
phone's best rival in its segment, and the evidence vectors `lmm_apa.align.evidence_scorer` reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lmm_apa.align.evidence import OMITTED_STATS, PHONE_SCALARS, WORD_SCALARS, rival_phone, segment_stats
from lmm_apa.align.head import DEFAULT_HEAD, PhoneHead
from lmm_apa.align.phoneset import BLANK, PHONES, phone_id
from lmm_apa.align.thresholds import SKIP_BASE, SKIP_PER_PHONE
from lmm_apa.align.viterbi import align_words
from lmm_apa.data.records import Utterance
from lmm_apa.errors import DataError

FRAME_RATE = 50.0  # Whisper encoder frames per second (before Qwen2-Audio's 2x pool)
# Between words, speech where the recogniser emits at least this many phones over at least this long
# is reported as an insertion (an extra word, a restart); shorter bursts are breath and clicks.
INSERTION_MIN_PHONES = 2
INSERTION_MIN_SECONDS = 0.2
# Frames a word's edge phones may extend into the pause around it: CTC marks a phone by a spike of a
# frame or two, the sound itself lasts longer.
EDGE_FRAMES = 3


@dataclass
class PhoneAlignment:
    symbol: str
    start: float | None  # seconds; None when the word was not said
    end: float | None
    # The canonical phone's best competitor in the segment (None when unsaid); the scorer reports it
    # as heard where the evidence scorer scores the phone wrong (`EvidenceScorer.heard_phone`).
    rival: str | None
    stats: dict[str, float]
    share: np.ndarray  # share of the segment's phone mass per phone (39,); zeros when unsaid
    state: np.ndarray  # recogniser state pooled over the segment (2 * d_hidden,)
    frames: np.ndarray  # encoder frames pooled over the segment (d_in,)

    def scalars(self) -> np.ndarray:
        return np.array([self.stats[k] for k in PHONE_SCALARS], dtype=np.float32)


@dataclass
class WordAlignment:
    text: str
    start: float | None
    end: float | None
    omitted: bool
    phones: list[PhoneAlignment]
    stats: dict[str, float]

    def scalars(self) -> np.ndarray:
        return np.array([self.stats[k] for k in WORD_SCALARS], dtype=np.float32)


@dataclass
class Alignment:
    words: list[WordAlignment]
    insertions: list[tuple[float, float, int]] = field(default_factory=list)  # (start, end, after_word)
    duration: float = 0.0

    @property
    def said(self) -> int:
        return sum(not w.omitted for w in self.words)


class Aligner:
    def __init__(
        self,
        head: PhoneHead | None = None,
        head_dir: str | Path = DEFAULT_HEAD,
        skip_base: float = SKIP_BASE,
        skip_per_phone: float = SKIP_PER_PHONE,
    ):
        self.head = head if head is not None else PhoneHead.load(head_dir)
        # the cost of an omission: the scorer passes its policy's (`infer.policy.ScoringPolicy`)
        self.skip_base, self.skip_per_phone = skip_base, skip_per_phone

    def align(self, frames: np.ndarray, reference: Utterance) -> Alignment:
        """Align ``reference``'s words and phones to one recording's encoder frames (T, d_in) at 50 Hz."""
        logp, hidden = self.head.posteriors(frames)
        frames = np.asarray(frames, dtype=np.float32)
        return align_posteriors(logp, hidden, frames, reference, self.skip_base, self.skip_per_phone)


def align_posteriors(
    logp: np.ndarray,
    hidden: np.ndarray,
    frames: np.ndarray,
    reference: Utterance,
    skip_base: float = SKIP_BASE,
    skip_per_phone: float = SKIP_PER_PHONE,
) -> Alignment:
    """`Aligner.align` from the recogniser's outputs (log posteriors (T, C), states (T, H))."""
    if not reference.words or any(not w.phones for w in reference.words):
        raise DataError(f"{reference.utt_id}: every word needs canonical phones to be aligned")
    try:
        ids = [[phone_id(p.symbol) for p in w.phones] for w in reference.words]
    except ValueError as e:
        raise DataError(f"{reference.utt_id}: {e}") from None
    n_frames = logp.shape[0]
    penalties = [skip_base + skip_per_phone * len(w) for w in ids]
    path = align_words(logp, ids, penalties)
    bounds = _phone_bounds(path.phones, n_frames)
    free = logp.max(axis=1)
    on_path = logp[np.arange(n_frames), _state_classes(path.states, ids)]

    words: list[WordAlignment] = []
    for w, (word, spans) in enumerate(zip(reference.words, path.phones, strict=True)):
        phones: list[PhoneAlignment] = []
        if path.skipped[w]:
            for p in word.phones:
                stats = {**OMITTED_STATS, "omitted": 1.0}
                phones.append(
                    PhoneAlignment(
                        p.symbol,
                        None,
                        None,
                        None,
                        stats,
                        np.zeros(len(PHONES)),
                        np.zeros(hidden.shape[1]),
                        np.zeros(frames.shape[1]),
                    )
                )
            words.append(WordAlignment(word.text, None, None, True, phones, _word_stats(phones, None, None)))
            continue
        for p, c, span, (lo, hi) in zip(word.phones, ids[w], spans, bounds[w], strict=True):
            seg = slice(lo, hi)
            stats = segment_stats(logp, seg, slice(span.first, span.last + 1), c)
            share = stats.pop("share")
            stats["omitted"] = 0.0
            phones.append(
                PhoneAlignment(
                    p.symbol,
                    lo / FRAME_RATE,
                    hi / FRAME_RATE,
                    rival_phone(share, c),
                    stats,
                    share,
                    hidden[seg].mean(axis=0),
                    frames[seg].mean(axis=0),
                )
            )
        lo, hi = bounds[w][0][0], bounds[w][-1][1]
        fit = float((on_path[lo:hi] - free[lo:hi]).mean())
        words.append(
            WordAlignment(
                word.text, lo / FRAME_RATE, hi / FRAME_RATE, False, phones, _word_stats(phones, fit, hi - lo)
            )
        )
    return Alignment(words, _insertions(logp, bounds, path.skipped, n_frames), n_frames / FRAME_RATE)


def _state_classes(states: np.ndarray, ids: list[list[int]]) -> np.ndarray:
    labels = np.array([p for w in ids for p in w])
    return np.where(states % 2 == 1, labels[np.maximum(states - 1, 0) // 2], BLANK)


def _phone_bounds(spans: list[list], n_frames: int) -> list[list[tuple[int, int]]]:
    """Frame ranges [lo, hi) per phone of each said word: within a word, the blank run between two
    phones is split at its middle; at a word's edges a phone takes up to EDGE_FRAMES of the pause."""
    said = [(w, s) for w, ws in enumerate(spans) for s in ws if s is not None]
    cuts: list[tuple[int, int]] = []
    for i, (w, s) in enumerate(said):
        lo, hi = s.first, s.last + 1
        if i > 0:
            pw, ps = said[i - 1]
            gap = s.first - (ps.last + 1)
            lo = s.first - (gap - gap // 2 if pw == w else min(EDGE_FRAMES, gap // 2))
        else:
            lo = max(0, s.first - EDGE_FRAMES)
        if i + 1 < len(said):
            nw, ns = said[i + 1]
            gap = ns.first - hi
            hi = hi + (gap // 2 if nw == w else min(EDGE_FRAMES, gap - gap // 2))
        else:
            hi = min(n_frames, hi + EDGE_FRAMES)
        cuts.append((lo, hi))
    out: list[list[tuple[int, int]]] = [[] for _ in spans]
    for (w, _), cut in zip(said, cuts, strict=True):
        out[w].append(cut)
    return out


def _word_stats(phones: list[PhoneAlignment], fit: float | None, n_frames: int | None) -> dict[str, float]:
    gops = np.array([p.stats["gop"] for p in phones])
    shares = np.array([p.stats["log_share"] for p in phones])
    return {
        "path_vs_free": fit if fit is not None else OMITTED_STATS["lp_path"],
        "gop_mean": float(gops.mean()),
        "gop_min": float(gops.min()),
        "share_mean": float(shares.mean()),
        "share_min": float(shares.min()),
        "lp_path_mean": float(np.mean([p.stats["lp_path"] for p in phones])),
        "log_frames": float(np.log(n_frames)) if n_frames else 0.0,
        "n_phones": float(len(phones)),
        "omitted": float(fit is None),
    }


def _insertions(
    logp: np.ndarray, bounds, skipped: list[bool], n_frames: int
) -> list[tuple[float, float, int]]:
    """Extra speech in the pauses before, between and after the said words."""
    said = [(w, b[0][0], b[-1][1]) for w, b in enumerate(bounds) if not skipped[w]]
    gaps: list[tuple[int, int, int]] = []  # (lo, hi, after_word)
    prev_end, prev_word = 0, -1
    for w, lo, hi in said:
        gaps.append((prev_end, lo, prev_word))
        prev_end, prev_word = hi, w
    gaps.append((prev_end, n_frames, prev_word))
    best = logp.argmax(axis=1)
    out = []
    for lo, hi, after in gaps:
        spoken = np.flatnonzero(best[lo:hi] != BLANK)
        if spoken.size == 0:
            continue
        runs = 1 + int(np.sum(np.diff(best[lo:hi][spoken]) != 0) + np.sum(np.diff(spoken) > 1))
        first, last = lo + int(spoken[0]), lo + int(spoken[-1]) + 1
        if runs >= INSERTION_MIN_PHONES and (last - first) / FRAME_RATE >= INSERTION_MIN_SECONDS:
            out.append((first / FRAME_RATE, last / FRAME_RATE, after))
    return out
