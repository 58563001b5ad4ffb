"""Plain-language tips for a learner's weakest words ("Work on BEAR: the vowel EH, as in 'bed'...").

Learners do not read ARPAbet, so each symbol is explained by a common word that holds the sound.
Thresholds are on the corpus' scales: word scores 0-10, phone accuracy 0-2.
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


def weak_phones(word: Word, threshold: float = WEAK_PHONE) -> list[str]:
    return [p.symbol for p in word.phones if p.accuracy is not None and p.accuracy < threshold]


def hints(utt: Utterance, max_hints: int = MAX_HINTS) -> list[Hint]:
    """Tips for the weakest words (score below WEAK_WORD, or with a weak phone), worst first."""
    candidates = []
    for i, w in enumerate(utt.words):
        score, weak = word_score(w), weak_phones(w)
        if (score is not None and score < WEAK_WORD) or weak:
            candidates.append((score if score is not None else WEAK_WORD, i, w, weak))
    candidates.sort(key=lambda c: (c[0], c[1]))
    return [
        Hint(word=w.text, word_index=i, phones=weak, message=_message(w, weak))
        for _, i, w, weak in candidates[:max_hints]
    ]


def _message(word: Word, weak: list[str]) -> str:
    parts = []
    if weak:
        # Worst phone first; at most two, so the tip stays short enough to act on.
        low = [p for p in word.phones if p.accuracy is not None and p.accuracy < WEAK_PHONE]
        worst_first = sorted(low, key=lambda p: p.accuracy)
        named = [describe_phone(p.symbol) for p in worst_first[:2]]
        parts.append(f"{' and '.join(named)} sounded off")
    if word.stress is not None and word.stress < 10:
        parts.append("put the stress on the right syllable")
    if not parts:
        parts.append("say it again slowly and clearly, sound by sound")
    return f"Work on {word.text}: {'; '.join(parts)}."
