"""CMU ARPAbet -> IPA: the one table the CLI (`--phones ipa`), the API (`phones=ipa`) and the page use.

General American values, as in the CMU Pronouncing Dictionary's own documentation and Wikipedia's
ARPAbet page: the 39 phones, with two vowels split by stress (AH0 is the schwa ə, AH1/AH2 the
strut vowel ʌ; ER0 is ɚ, ER1/ER2 ɝ) and R written ɹ, G as the IPA letter ɡ (U+0261).

Stress (CMU's digit on each vowel: 1 primary, 2 secondary, 0 none) is marked ˈ / ˌ:
- per phone (`phone_ipa`, the `phones-ipa` list parallel to `phones`): before the vowel that has it,
  ``AE1`` -> ``ˈæ``;
- per word (`word_ipa`, the word's ``ipa``): where IPA puts it, before the syllable, found by the
  maximal onset rule (the longest run of consonants before the vowel that can begin an English
  syllable, `_ONSETS`): ``K AH0 L EH1 K T`` -> ``kəˈlɛkt``. Monosyllables keep CMU's mark (``ˈbɛɹ``).
A heard phone (no stress digit, `lmm_apa.data.records.Word.phones_heard`) maps as if stressed (AH -> ʌ).
"""

from __future__ import annotations

ARPABET_TO_IPA: dict[str, str] = {
    # vowels (AH and ER: the stressed value; unstressed in _UNSTRESSED)
    "AA": "ɑ", "AE": "æ", "AH": "ʌ", "AO": "ɔ", "AW": "aʊ", "AY": "aɪ", "EH": "ɛ", "ER": "ɝ",
    "EY": "eɪ", "IH": "ɪ", "IY": "i", "OW": "oʊ", "OY": "ɔɪ", "UH": "ʊ", "UW": "u",
    # consonants
    "B": "b", "CH": "tʃ", "D": "d", "DH": "ð", "F": "f", "G": "ɡ", "HH": "h", "JH": "dʒ", "K": "k",
    "L": "l", "M": "m", "N": "n", "NG": "ŋ", "P": "p", "R": "ɹ", "S": "s", "SH": "ʃ", "T": "t",
    "TH": "θ", "V": "v", "W": "w", "Y": "j", "Z": "z", "ZH": "ʒ",
}  # fmt: skip
_UNSTRESSED = {"AH": "ə", "ER": "ɚ"}
STRESS_MARKS = {"1": "ˈ", "2": "ˌ"}
VOWELS = frozenset(("AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"))

# Consonant clusters that begin English syllables (besides any single consonant but NG).
_ONSETS = frozenset(
    tuple(c.split())
    for c in (
        "P R", "B R", "T R", "D R", "K R", "G R", "F R", "TH R", "SH R",
        "P L", "B L", "K L", "G L", "F L", "S L",
        "T W", "D W", "K W", "G W", "S W", "TH W",
        "S P", "S T", "S K", "S M", "S N", "S F",
        "P Y", "B Y", "K Y", "G Y", "F Y", "V Y", "M Y", "HH Y",
        "S P R", "S T R", "S K R", "S P L", "S K W", "S K Y", "S P Y",
    )
)  # fmt: skip


def _split(symbol: str) -> tuple[str, str]:
    base, digit = (symbol[:-1], symbol[-1]) if symbol[-1:].isdigit() else (symbol, "")
    if base not in ARPABET_TO_IPA:
        raise ValueError(f"{symbol!r} is not a CMU ARPAbet phone")
    return base, digit


def _sound(base: str, digit: str) -> str:
    return _UNSTRESSED[base] if digit == "0" and base in _UNSTRESSED else ARPABET_TO_IPA[base]


def phone_ipa(symbol: str) -> str:
    """One ARPAbet phone (with or without stress digit) in IPA, its stress mark before it: AE1 -> ˈæ."""
    base, digit = _split(symbol)
    return STRESS_MARKS.get(digit, "") + _sound(base, digit)


def phones_ipa(symbols: list[str]) -> list[str]:
    """`phone_ipa` of each phone (the `phones-ipa` list, parallel to `phones`)."""
    return [phone_ipa(s) for s in symbols]


def _onset_start(bases: list[str], vowel: int) -> int:
    """Index where the syllable of the vowel at ``vowel`` begins (maximal onset)."""
    first = vowel
    while first > 0 and bases[first - 1] not in VOWELS:
        first -= 1
    for start in range(first, vowel):  # longest legal onset first
        cluster = tuple(bases[start:vowel])
        if cluster in _ONSETS or (len(cluster) == 1 and cluster[0] != "NG"):
            return start
    return vowel


def word_ipa(symbols: list[str]) -> str:
    """A word's phones as one IPA string, stress marks before their syllables: K AH0 L EH1 K T -> kəˈlɛkt."""
    parsed = [_split(s) for s in symbols]
    bases = [b for b, _ in parsed]
    marks: dict[int, str] = {}
    for i, (base, digit) in enumerate(parsed):
        if base in VOWELS and digit in STRESS_MARKS:
            marks[_onset_start(bases, i)] = STRESS_MARKS[digit]
    return "".join(marks.get(i, "") + _sound(b, d) for i, (b, d) in enumerate(parsed))


def add_ipa(result: dict) -> dict:
    """A result in the corpus schema with each word's ``phones-ipa`` and ``ipa`` added (and, where an
    aligner heard another phone, ``phones-heard-ipa``); changed in place and returned."""
    for word in result.get("words", []):
        word["phones-ipa"] = phones_ipa(word["phones"])
        word["ipa"] = word_ipa(word["phones"])
        heard = word.get("phones-heard")
        if heard is not None:
            word["phones-heard-ipa"] = [None if h is None else phone_ipa(h) for h in heard]
    return result
