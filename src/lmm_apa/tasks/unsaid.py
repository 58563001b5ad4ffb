"""Training examples whose text was not (all) spoken, with the scores a rater would give.

Speechocean762's readers almost never skip a word and the paper's simulated pairs only move score
values, so no corpus example teaches a model to check the text against the audio. These rules make
such examples from real recordings:

- ``other_text``: the recording paired with another utterance's text (a different sentence). None
  of its words was said.
- ``word_swapped``: one word of the text replaced by another corpus word with different phones. The
  speaker said something else there: that word was not said.
- ``cut_short``: the recording cut at a word boundary (from the aligner's word times) after
  ``n_said`` of its words, 1 <= n_said < n. The remaining words were never said.

Scores, for every word that was not said: accuracy 0, total 0, stress 5 (the bottom of its scale),
every phone 0. Words that were said keep their labels. With s the share of words said: completeness
10 s (the corpus' definition); sentence accuracy and total the label times s (a rater scores the
reading of the whole text); fluency and prosodic the label, capped at completeness (how the said
part flowed, but no more than what was read; the scorer applies the same cap). As SimPO pairs, the
chosen answer holds these scores and the rejected one the scores of a reading that ignored the
mismatch: the recording's own labels on the new skeleton (for ``other_text``, the other
utterance's labels: that text read well).

`choose_unsaid` picks which training utterances get one such copy, at a documented ``rate``,
seeded, kinds in turn.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from lmm_apa.data.records import Phone, Utterance, Word

UNSAID_KINDS: tuple[str, ...] = ("other_text", "word_swapped", "cut_short")
UNSAID_STRESS = 5.0


@dataclass(frozen=True)
class UnsaidExample:
    kind: str
    utt: Utterance  # the text as given, with the rule scores; utt_id "<source>~<kind>"
    as_if_read: Utterance  # the same skeleton with the scores of a reading that ignored the mismatch
    audio_path: str
    audio_end: float | None = None  # seconds: the recording is cut here (cut_short)


def _unsaid(word: Word) -> Word:
    return Word(
        text=word.text,
        accuracy=0.0,
        stress=UNSAID_STRESS,
        total=0.0,
        phones=[Phone(symbol=p.symbol, accuracy=0.0) for p in word.phones],
    )


def _scored(utt: Utterance, words: list[Word], said: int, utt_id: str, text: str) -> Utterance:
    share = said / len(words)
    completeness = 10.0 * share
    return Utterance(
        utt_id=utt_id,
        text=text,
        words=words,
        accuracy=utt.accuracy * share,
        completeness=completeness,
        fluency=min(utt.fluency, completeness),
        prosodic=min(utt.prosodic, completeness),
        total=utt.total * share,
        speaker=utt.speaker,
        audio_path=utt.audio_path,
    )


def _labels(utt: Utterance, words: list[Word], utt_id: str, text: str) -> Utterance:
    return utt.model_copy(update={"utt_id": utt_id, "text": text, "words": words})


def other_text(utt: Utterance, other: Utterance) -> UnsaidExample:
    if other.text == utt.text:
        raise ValueError("other_text needs a different sentence")
    uid = f"{utt.utt_id}~other_text"
    words = [_unsaid(w) for w in other.words]
    return UnsaidExample(
        "other_text",
        _scored(utt, words, 0, uid, other.text),
        _labels(other, list(other.words), uid, other.text),
        utt.audio_path,
    )


def word_swapped(utt: Utterance, index: int, replacement: Word) -> UnsaidExample:
    old = utt.words[index]
    if [p.symbol for p in replacement.phones] == [p.symbol for p in old.phones]:
        raise ValueError(f"{replacement.text} sounds like {old.text}: not a swap")
    uid = f"{utt.utt_id}~word_swapped"
    new = _unsaid(Word(text=replacement.text, phones=replacement.phones))
    words = [new if i == index else w for i, w in enumerate(utt.words)]
    text = " ".join(w.text for w in words)
    # a deaf reading: the old word's scores on the new word's phones (mean phone accuracy kept)
    mean_phone = sum(p.accuracy for p in old.phones) / len(old.phones)
    ignored = replacement.model_copy(
        update={
            "accuracy": old.accuracy,
            "stress": old.stress,
            "total": old.total,
            "phones": [Phone(symbol=p.symbol, accuracy=round(mean_phone, 1)) for p in replacement.phones],
        }
    )
    as_read = [ignored if i == index else w for i, w in enumerate(utt.words)]
    return UnsaidExample(
        "word_swapped",
        _scored(utt, words, len(words) - 1, uid, text),
        _labels(utt, as_read, uid, text),
        utt.audio_path,
    )


def cut_short(utt: Utterance, n_said: int, cut_at: float) -> UnsaidExample:
    if not 1 <= n_said < len(utt.words):
        raise ValueError(f"n_said must be in [1, {len(utt.words) - 1}], got {n_said}")
    uid = f"{utt.utt_id}~cut_short"
    words = [w if i < n_said else _unsaid(w) for i, w in enumerate(utt.words)]
    return UnsaidExample(
        "cut_short",
        _scored(utt, words, n_said, uid, utt.text),
        _labels(utt, list(utt.words), uid, utt.text),
        utt.audio_path,
        audio_end=cut_at,
    )


def choose_unsaid(
    utts: list[Utterance],
    rate: float,
    seed: int = 0,
    word_ends: Callable[[Utterance], list[float | None]] | None = None,
) -> list[UnsaidExample]:
    """One unsaid copy for about ``rate`` of ``utts`` (seeded), the kinds taken in turn.

    ``word_ends(utt)``: each word's end time in seconds (the aligner's, `aligned_word_ends`; None
    where it found the word unsaid), asked only for utterances that are cut; without it, or where a
    cut has no clean boundary, ``cut_short`` is skipped for that utterance and the next kind used.
    """
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"rate must be in [0, 1], got {rate}")
    rng = random.Random(seed)
    picked = [u for u in utts if rng.random() < rate]
    vocab = sorted({(w.text, tuple(p.symbol for p in w.phones)) for u in utts for w in u.words})
    out: list[UnsaidExample] = []
    for i, utt in enumerate(picked):
        kinds = UNSAID_KINDS[i % 3 :] + UNSAID_KINDS[: i % 3]
        for kind in kinds:
            example = _make(kind, utt, utts, vocab, rng, word_ends)
            if example is not None:
                out.append(example)
                break
    return out


def _make(kind, utt, utts, vocab, rng, word_ends) -> UnsaidExample | None:
    if kind == "other_text":
        others = [u for u in utts if u.text != utt.text]
        return other_text(utt, rng.choice(others)) if others else None
    if kind == "word_swapped":
        index = rng.randrange(len(utt.words))
        own = tuple(p.symbol for p in utt.words[index].phones)
        choices = [v for v in vocab if v[1] != own and v[0] != utt.words[index].text]
        if not choices:
            return None
        text, phones = rng.choice(choices)
        return word_swapped(utt, index, Word(text=text, phones=[Phone(symbol=p) for p in phones]))
    ends = word_ends(utt) if word_ends is not None and len(utt.words) >= 2 else None
    if not ends or any(e is None for e in ends):
        return None
    n_said = rng.randint(1, len(utt.words) - 1)
    return cut_short(utt, n_said, float(ends[n_said - 1]))


def aligned_word_ends(listener) -> Callable[[Utterance], list[float | None]]:
    """``word_ends`` for `choose_unsaid` from the aligner (`lmm_apa.align.frontend.Listener`)."""
    from lmm_apa.data.audio import load_audio

    def ends(utt: Utterance) -> list[float | None]:
        al = listener.hear(load_audio(utt.audio_path), utt.unlabelled()).alignment
        return [w.end for w in al.words]

    return ends
