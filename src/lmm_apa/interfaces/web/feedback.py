"""Plain-language tips for a learner's weakest words ("Work on BEAR: the vowel EH, as in 'bed'...").

Learners do not read ARPAbet, so each symbol is explained by a common word that holds the sound.
Thresholds are on the corpus' scales: word scores 0-10, phone accuracy 0-2. Where a forced aligner
ran, skipped words come first ("You skipped IT ...") and a sound heard as another one is named
("... sounded like AE (as in 'cat')").
"""

from __future__ import annotations

import re

from lmm_apa.data.records import Utterance, Word
from lmm_apa.interfaces.web.schemas import Hint

# Word colours on the page use the same cut points (app.js): red below 5, amber below 8, green.
WEAK_WORD = 8.0
# 1.5 rather than 1.0: expected scores from a model are pulled towards the mean (most phones are
# near 2), so a phone the model puts below 1.5 is already one the majority of raters would mark down.
WEAK_PHONE = 1.5
MAX_HINTS = 3

# (kind, example word): the vowel EH (as in 'bed'). The 39 CMU phones (stress digits stripped).
ARPABET: dict[str, tuple[str, str]] = {
    "AA": ("vowel", "father"),
    "AE": ("vowel", "cat"),
    "AH": ("vowel", "cup"),
    "AO": ("vowel", "law"),
    "AW": ("vowel", "now"),
    "AY": ("vowel", "my"),
    "EH": ("vowel", "bed"),
    "ER": ("vowel", "bird"),
    "EY": ("vowel", "say"),
    "IH": ("vowel", "sit"),
    "IY": ("vowel", "see"),
    "OW": ("vowel", "go"),
    "OY": ("vowel", "boy"),
    "UH": ("vowel", "book"),
    "UW": ("vowel", "too"),
    "B": ("consonant", "bat"),
    "CH": ("consonant", "chair"),
    "D": ("consonant", "dog"),
    "DH": ("consonant", "this"),
    "F": ("consonant", "fish"),
    "G": ("consonant", "go"),
    "HH": ("consonant", "hat"),
    "JH": ("consonant", "jam"),
    "K": ("consonant", "cat"),
    "L": ("consonant", "leg"),
    "M": ("consonant", "man"),
    "N": ("consonant", "no"),
    "NG": ("consonant", "sing"),
    "P": ("consonant", "pen"),
    "R": ("consonant", "red"),
    "S": ("consonant", "sun"),
    "SH": ("consonant", "she"),
    "T": ("consonant", "top"),
    "TH": ("consonant", "think"),
    "V": ("consonant", "van"),
    "W": ("consonant", "we"),
    "Y": ("consonant", "yes"),
    "Z": ("consonant", "zoo"),
    "ZH": ("consonant", "measure"),
}

_STRESS_DIGIT = re.compile(r"\d$")


def base_symbol(phone: str) -> str:
    """ARPAbet symbol without its stress digit or the corpus' position tag: 'EH1' -> 'EH'."""
    return _STRESS_DIGIT.sub("", phone.split("_")[0].upper())


def describe_phone(phone: str) -> str:
    """'EH1' -> "the vowel EH (as in 'bed')" (unknown symbols are named as they are)."""
    sym = base_symbol(phone)
    if sym not in ARPABET:
        return f"the sound {sym}"
    kind, example = ARPABET[sym]
    return f"the {kind} {sym} (as in '{example}')"


def word_score(word: Word) -> float | None:
    """The score a word is judged (and coloured) by: total, else accuracy."""
    return word.total if word.total is not None else word.accuracy


def heard_phones(word: Word) -> list[str | None]:
    """The phone heard instead of each canonical one (None where none is reported)."""
    return list(word.phones_heard) if word.phones_heard is not None else [None] * len(word.phones)


def _weak(word: Word, threshold: float = WEAK_PHONE) -> list[tuple[int, str | None]]:
    """(phone index, heard phone) of the weak phones: scored below `threshold`, or heard as another."""
    return [
        (j, heard)
        for j, (p, heard) in enumerate(zip(word.phones, heard_phones(word), strict=True))
        if heard is not None or (p.accuracy is not None and p.accuracy < threshold)
    ]


def weak_phones(word: Word, threshold: float = WEAK_PHONE) -> list[str]:
    return [word.phones[j].symbol for j, _ in _weak(word, threshold)]


def hints(utt: Utterance, max_hints: int = MAX_HINTS) -> list[Hint]:
    """Tips for the weakest words, worst first: skipped words, then words scored below WEAK_WORD,
    marked mispronounced, or with a weak phone."""
    candidates = []
    for i, w in enumerate(utt.words):
        if w.error_type == "omission":
            candidates.append((-1.0, i, w, [], _skipped(utt, i)))
            continue
        score, weak = word_score(w), weak_phones(w)
        if (score is not None and score < WEAK_WORD) or weak or w.error_type == "mispronunciation":
            candidates.append((score if score is not None else WEAK_WORD, i, w, weak, _message(w)))
    candidates.sort(key=lambda c: (c[0], c[1]))
    return [
        Hint(word=w.text, word_index=i, phones=weak, message=message)
        for _, i, w, weak, message in candidates[:max_hints]
    ]


def _skipped(utt: Utterance, i: int) -> str:
    """The tip for a skipped word: where it goes, by its neighbours."""
    before = utt.words[i - 1].text if i > 0 else None
    after = utt.words[i + 1].text if i + 1 < len(utt.words) else None
    where = (
        f" between {before} and {after}"
        if before and after
        else f" after {before}"
        if before
        else f" before {after}"
        if after
        else ""
    )
    return f"You skipped {utt.words[i].text}: say it{where}."


def _message(word: Word) -> str:
    parts = []
    weak = _weak(word)
    if weak:
        # Sounds heard as another first, then the lowest scored; at most two, so the tip stays short
        # enough to act on.
        def badness(item: tuple[int, str | None]) -> tuple[bool, float]:
            j, heard = item
            acc = word.phones[j].accuracy
            return heard is None, acc if acc is not None else WEAK_PHONE

        worst_first = sorted(weak, key=badness)[:2]
        heard_as = [
            f"{describe_phone(word.phones[j].symbol)} sounded like {_heard(h)}" for j, h in worst_first if h
        ]
        off = [describe_phone(word.phones[j].symbol) for j, h in worst_first if not h]
        parts += heard_as
        if off:
            parts.append(f"{' and '.join(off)} sounded off")
    if word.stress is not None and word.stress < 10:
        parts.append("put the stress on the right syllable")
    if not parts:
        parts.append("say it again slowly and clearly, sound by sound")
    return f"Work on {word.text}: {'; '.join(parts)}."


def _heard(phone: str) -> str:
    """'AE' -> "AE (as in 'cat')": the heard sound, named as learners can hear it."""
    sym = base_symbol(phone)
    return f"{sym} (as in '{ARPABET[sym][1]}')" if sym in ARPABET else sym
