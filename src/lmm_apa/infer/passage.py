"""Passages: a paragraph read aloud (30 s to 5 minutes, up to `MAX_WORDS` words), scored in pieces.

The Whisper encoder hears at most 30 s and the scorer was trained on sentences of 2-10 s, so a
passage is scored as the sentences it is made of:

1. The whole recording is encoded in windows of about a sentence (at least `MIN_WINDOW_SECONDS`,
   at most `WINDOW_SECONDS`), cut in the middle of the pauses Silero VAD finds (`encode_long`), and
   the 50 Hz frames are put end to end.
2. The phone recogniser reads them and the whole text is force-aligned to the whole recording at
   once (`lmm_apa.align.viterbi`: linear in frames for a fixed text; 2.3 s for 400 words over
   3 minutes): which words were said, and where.
3. The passage is cut into pieces between two said words (`plan_pieces`): its sentences (the
   text's `.`, `!`, `?`), else at its pauses, at most `PIECE_SECONDS` each.
4. Each piece (its audio, its words) is scored by the scorer as any recording is
   (`Scorer.assess_recordings`: silence trimmed, heard, LMM and evidence blended; the scorer's
   ``reencode_pieces=False`` hears it from the frames of step 1 sliced at its edges instead,
   `sliced_pieces` and `Scorer.assess_heard`: no second encoder pass, scores further from the
   sentence's alone), and the pieces are
   merged (`merge_pieces`): words, phones and insertions in order with their times on the whole
   recording, sentence aspects as the word-count-weighted mean over pieces, completeness as the
   share of the passage's words said, the whole recording's signal quality.
Measurements: docs/passages.md.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from lmm_apa.data.audio import MAX_SECONDS, SAMPLE_RATE
from lmm_apa.data.records import SENTENCE_ASPECTS, Utterance
from lmm_apa.errors import AudioError, InputError, LmmApaError, ModelError

# The most words a passage may have: ~600 words is 4-5 minutes read aloud, past the audio limit.
MAX_WORDS = 600
# A text longer than this is scored as a passage even in under 30 s of audio: the scorer was
# trained on sentences of up to ~20 words, and one answer skeleton for 50 words is long to read.
PASSAGE_FROM_WORDS = 50
# Pieces are sentences where the text says where they end, the shortest run of them at least
# MIN_PIECE_SECONDS long: the scorer was trained on sentences of 2-10 s, and a piece of several
# sentences scored lower than its sentences alone and took longer (the LMM's attention grows with
# the square of its length; docs/passages.md). Never over PIECE_SECONDS: inside the encoder's 30 s
# with the scorer's margins.
MIN_PIECE_SECONDS = 2.0
# Without sentence ends, a pause this long is taken for one (the first such after MIN_PIECE_SECONDS);
# without one, the longest pause within PAUSE_PIECE_SECONDS.
SENTENCE_PAUSE_SECONDS = 0.8
PAUSE_PIECE_SECONDS = 10.0
PIECE_SECONDS = 25.0
# The longest window the encoder hears at once (its limit is 30 s, 3000 mel frames).
WINDOW_SECONDS = 29.5
# Windows end at every pause once this long: about a sentence. The encoder's attention grows with
# the square of its window, and sentence windows took half the time of 29.5 s ones (17.3 s -> 8.4 s
# for a 3-minute passage) for the same alignment; their frames are also closer to each piece's own
# (sliced pieces' word accuracy 0.18 from the pieces encoded alone at 60 s, against 0.54 with 29.5 s
# windows; docs/passages.md).
MIN_WINDOW_SECONDS = 2.0
HOP = 320  # samples per encoder frame (20 ms): windows are cut on frame edges
_SENTENCE_END = re.compile(r"[.!?]+[\"')\]]*(?:\s+|$)")


@dataclass(frozen=True)
class Piece:
    """Words [first, stop) of the passage, heard in samples [lo, hi) of the recording scored."""

    first: int
    stop: int
    lo: int
    hi: int


def is_passage(reference: Utterance, wave: np.ndarray) -> bool:
    """Whether a recording is scored as a passage: over 30 s, or a text of over `PASSAGE_FROM_WORDS`."""
    return len(wave) > MAX_SECONDS * SAMPLE_RATE or len(reference.words) > PASSAGE_FROM_WORDS


def check_words(reference: Utterance) -> None:
    """`InputError` for a text over `MAX_WORDS` words."""
    if len(reference.words) > MAX_WORDS:
        raise InputError(
            f"text has {len(reference.words)} words, over the {MAX_WORDS}-word limit for a passage: "
            "split it into shorter passages and score them one by one"
        )


def sentence_ends(text: str | None, reference: Utterance) -> set[int]:
    """Indices of the reference's words that end a sentence of ``text`` (empty when it has none, or
    when the sentences' words do not add up to the reference's)."""
    from lmm_apa.data.lexicon import pronounce

    if not text:
        return set()
    ends, n = set(), 0
    for sentence in _SENTENCE_END.split(text):
        k = len(pronounce(sentence)) if sentence.strip() else 0
        if k:
            n += k
            ends.add(n - 1)
    return ends if n == len(reference.words) else set()


def encode_long(encoder: Any, wave: np.ndarray, segments: list[tuple[int, int]]) -> np.ndarray:
    """(len // HOP, 512) encoder frames of ``wave``, encoded in windows of at most
    `WINDOW_SECONDS` cut in the middle of the pauses between ``segments`` (VAD speech, samples)."""
    cuts = window_cuts(wave, segments)
    parts = []
    for lo, hi in zip(cuts[:-1], cuts[1:], strict=True):
        frames = encoder.frames(wave[lo:hi])
        n = (hi - lo) // HOP
        # the encoder gives len // 320 rounded up: keep exactly the window's own frames
        if frames.shape[0] < n:
            frames = np.concatenate([frames, np.repeat(frames[-1:], n - frames.shape[0], axis=0)])
        parts.append(frames[:n])
    return np.concatenate(parts).astype(np.float32)


def window_cuts(wave: np.ndarray, segments: list[tuple[int, int]]) -> list[int]:
    """Sample positions [0, ..., len] (multiples of HOP but the last) at which the encoder's windows
    meet: the middle of every pause between ``segments`` (VAD speech, samples) once the window is
    `MIN_WINDOW_SECONDS` long; where a window would pass `WINDOW_SECONDS` without one, the quietest
    20 ms in its second half."""
    n, limit = len(wave), int(WINDOW_SECONDS * SAMPLE_RATE) // HOP * HOP
    least = int(MIN_WINDOW_SECONDS * SAMPLE_RATE)
    gaps = [
        (a_end + b_start) // 2 // HOP * HOP
        for (_, a_end), (b_start, _) in zip(segments, segments[1:], strict=False)
    ]
    cuts = [0]
    for g in [*gaps, n]:
        while g - cuts[-1] > limit:  # no pause within reach
            lo = cuts[-1] + limit // 2
            x = np.asarray(wave[lo : cuts[-1] + limit], dtype=np.float64)
            power = np.square(x[: len(x) // HOP * HOP]).reshape(-1, HOP).mean(axis=1)
            cuts.append(lo + int(np.argmin(power)) * HOP)
        if g < n and g - cuts[-1] >= least:
            cuts.append(g)
    cuts.append(n)
    return cuts


def plan_pieces(alignment: Any, ends: set[int], n_samples: int) -> list[Piece]:
    """Pieces from the whole passage's ``alignment`` (word times in seconds on the recording of
    ``n_samples``), each cut in the middle of the pause between two said words: at the first
    sentence end (``ends``) at least `MIN_PIECE_SECONDS` in, else at the first pause of
    `SENTENCE_PAUSE_SECONDS` or more, else at the longest pause between `MIN_PIECE_SECONDS` and
    `PAUSE_PIECE_SECONDS` in (then up to `PIECE_SECONDS`)."""
    words = alignment.words
    said = [i for i, w in enumerate(words) if not w.omitted]
    # candidate cuts: between consecutive said words i < j, after word k in [i, j) (a sentence end
    # there if any, so that the unsaid end of a sentence stays with it), at the pause's middle
    cands: list[tuple[int, int, float, bool]] = []  # (stop word, sample, pause seconds, sentence end)
    for i, j in zip(said, said[1:], strict=False):
        stop = next((k + 1 for k in range(j - 1, i - 1, -1) if k in ends), j)
        mid = (words[i].end + words[j].start) / 2
        cands.append((stop, int(mid * SAMPLE_RATE), words[j].start - words[i].end, stop - 1 in ends))
    pieces, first, lo = [], 0, 0
    while True:
        cut = _next_cut([c for c in cands if c[1] > lo], lo, n_samples)
        if cut is None:
            break
        pieces.append(Piece(first, cut[0], lo, cut[1]))
        first, lo = cut[0], cut[1]
    pieces.append(Piece(first, len(words), lo, n_samples))
    return pieces


def _next_cut(ahead: list[tuple[int, int, float, bool]], lo: int, n_samples: int) -> tuple | None:
    """The candidate the piece starting at sample ``lo`` ends at; None: the rest is one piece."""
    least, most = MIN_PIECE_SECONDS * SAMPLE_RATE, PIECE_SECONDS * SAMPLE_RATE
    if not ahead or n_samples - lo < least:
        return None
    sentences = [c for c in ahead if c[3] and least <= c[1] - lo <= most]
    if sentences:
        return sentences[0]
    # a pause as long as one between sentences ends the piece there, as a sentence end would
    breaks = [c for c in ahead if c[2] >= SENTENCE_PAUSE_SECONDS and least <= c[1] - lo <= most]
    if breaks:
        return breaks[0]
    if n_samples - lo <= PAUSE_PIECE_SECONDS * SAMPLE_RATE:
        return None
    for reach in (PAUSE_PIECE_SECONDS, PIECE_SECONDS):
        fits = [c for c in ahead if least <= c[1] - lo <= reach * SAMPLE_RATE]
        if fits:
            return max(fits, key=lambda c: c[2])
    if n_samples - lo <= most:
        return None
    return ahead[0]


def assess_passage(scorer: Any, reference: Utterance, wave: np.ndarray, text: str | None = None) -> Any:
    """A `ScoreResult` for a passage: ``reference`` read in 16 kHz ``wave`` (any length the audio
    limit lets through), scored in pieces by ``scorer`` (which must listen). ``text``: the text as
    written, whose sentence ends the pieces are cut at (without it, at the pauses)."""
    from lmm_apa.align.aligner import align_posteriors
    from lmm_apa.data.quality import check_recording
    from lmm_apa.data.speech import trim_to_speech

    check_words(reference)
    listener = scorer.listener
    if listener is None:
        raise ModelError("a passage is aligned before it is scored: score it with listening on")
    span, quality = check_recording(wave)
    cut, offset = trim_to_speech(wave, span) if scorer.trim_silence else (wave, 0.0)
    shift = int(round(offset * SAMPLE_RATE))
    segments = [(s - shift, e - shift) for s, e in span.segments]
    frames = encode_long(listener.encoder, cut, segments)
    logp, hidden = listener.aligner.head.posteriors(frames)
    # at the scorer's cost of an omission (its policy's: `Scorer` checks the listener holds it)
    alignment = align_posteriors(
        logp, hidden, frames, reference, listener.aligner.skip_base, listener.aligner.skip_per_phone
    )
    pieces = plan_pieces(alignment, sentence_ends(text, reference), len(cut))
    longest = max(p.hi - p.lo for p in pieces) / SAMPLE_RATE
    if longest > WINDOW_SECONDS:
        # pieces are cut between said words: a long stretch with none of the text's words in it
        raise AudioError(
            f"the recording has {longest:.0f} s without any of the text's words in it (heard "
            f"{alignment.said} of {len(reference.words)} words): check that it is a reading of this text"
        )
    refs = [
        Utterance(
            utt_id=f"{reference.utt_id}#{k}",
            text=" ".join(w.text for w in reference.words[p.first : p.stop]),
            words=reference.words[p.first : p.stop],
        )
        for k, p in enumerate(pieces)
    ]
    if getattr(scorer, "reencode_pieces", True):  # each piece encoded again, alone (why: the scorer)
        results = scorer.assess_recordings(refs, [cut[p.lo : p.hi] for p in pieces])
    else:
        results = scorer.assess_heard(refs, *sliced_pieces(cut, pieces, frames, scorer.trim_silence))
    for k, r in enumerate(results):
        if isinstance(r, LmmApaError):
            p = pieces[k]
            raise type(r)(f"passage piece {k + 1} ({(p.lo / SAMPLE_RATE) + offset:.1f} s): {r}") from r
    return merge_pieces(reference, pieces, results, offset, quality.to_json())


def sliced_pieces(
    cut: np.ndarray, pieces: list[Piece], frames: np.ndarray, trim: bool = True
) -> tuple[list[Any], list[np.ndarray]]:
    """(each piece's `Recording`, its encoder frames): the piece cut as the scorer cuts a recording
    (its speech, found by the VAD on the piece alone, plus `MARGIN_S` a side; ``trim=False``: all
    of it), but on frame edges and never past the piece's edges, with its frames sliced out of the
    whole recording's ``frames`` (50 Hz, on ``cut``'s time line) instead of encoded again.

    Where the margin reaches past the piece, the scorer alone would add digital silence; the whole
    recording's frames there are the neighbour's pause (pieces are cut in the middle of a pause,
    and the next piece's speech may lie within the margin), so the slice stops at the piece's edge.
    """
    from lmm_apa.data.quality import Recording, check_recording

    recordings, parts = [], []
    for k, p in enumerate(pieces):
        try:
            span, quality = check_recording(cut[p.lo : p.hi])
        except LmmApaError as e:
            raise type(e)(f"passage piece {k + 1} ({p.lo / SAMPLE_RATE:.1f} s on the cut): {e}") from e
        a, b = span.cut() if trim else (0, p.hi - p.lo)
        f0 = min(round((p.lo + max(a, 0)) / HOP), len(frames) - 1)
        f1 = max(min(round((p.lo + min(b, p.hi - p.lo)) / HOP), len(frames)), f0 + 1)
        recordings.append(Recording(cut[f0 * HOP : f1 * HOP], (f0 * HOP - p.lo) / SAMPLE_RATE, quality))
        parts.append(frames[f0:f1])
    return recordings, parts


def merge_pieces(
    reference: Utterance, pieces: list[Piece], results: list[Any], offset_s: float, quality: dict
) -> Any:
    """One `ScoreResult` of the pieces' (`ScoreResult`s, times on each piece's audio): words in order
    with times on the original recording (the piece's start plus the trim's ``offset_s``), sentence
    aspects weighted by the pieces' word counts, completeness the share of all words said."""
    from lmm_apa.data.records import Insertion
    from lmm_apa.data.speech import shift_times
    from lmm_apa.tasks.answer import Slot

    words, insertions, std = [], [], {}
    has_std = all(r.std is not None for r in results)
    for p, r in zip(pieces, results, strict=True):
        utt = shift_times(r.utterance, p.lo / SAMPLE_RATE + offset_s)
        base = len(words)
        words.extend(utt.words)
        insertions.extend(
            Insertion(start=i.start, end=i.end, after_word=i.after_word + base) for i in utt.insertions or []
        )
        if has_std:
            std |= {
                Slot(s.granularity, s.aspect, s.word + base, s.phone): v
                for s, v in r.std.items()
                if s.word is not None
            }
    n = np.array([p.stop - p.first for p in pieces], dtype=np.float64)
    sentence: dict[str, float | None] = {}
    for aspect in SENTENCE_ASPECTS:
        values = [r.utterance.score(aspect) for r in results]
        sentence[aspect] = (
            None if any(v is None for v in values) else round(float(np.average(values, weights=n)), 4)
        )
        if has_std and all(Slot("sentence", aspect) in r.std for r in results):
            std[Slot("sentence", aspect)] = float(
                np.average([r.std[Slot("sentence", aspect)] for r in results], weights=n)
            )
    if sentence["completeness"] is not None:
        said = sum(w.error_type != "omission" for w in words)
        sentence["completeness"] = round(10.0 * said / len(words), 4)
    merged = reference.model_copy(update={"words": words, "insertions": insertions, **sentence})
    # the first piece's `ScoreResult` with the merged scores (this module sits under the scorer and
    # does not import it)
    return dataclasses.replace(
        results[0],
        utterance=Utterance.model_validate(merged.model_dump()),
        std=std if has_std else None,
        problems=[q for r in results for q in r.problems],
        quality=quality,
    )
