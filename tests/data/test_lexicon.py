import json
import sys
import types
from collections import Counter

import pytest

from lmm_apa.data import lexicon
from lmm_apa.data.lexicon import canonical_words, corpus_stress, normalize_words, pronounce
from lmm_apa.errors import LexiconError

ARPABET = set(lexicon._G2p.PHONEMES[4:]) | {"UW0"}


def test_known_words_get_the_corpus_phones():
    # Utterance 000010011 of scores.json: W IY0 | K AO0 L | IH0 T | B EH0 R (cmudict stresses IY1, AO1...).
    assert canonical_words("We call it bear.") == [
        ("WE", ["W", "IY0"]),
        ("CALL", ["K", "AO0", "L"]),
        ("IT", ["IH0", "T"]),
        ("BEAR", ["B", "EH0", "R"]),
    ]
    assert {w.source for w in pronounce("We call it bear")} == {"corpus"}


def test_words_outside_the_corpus_come_from_cmudict_in_corpus_stress():
    cats, percent = pronounce("cats percent")
    assert (cats.phones, cats.source) == (["K", "AE0", "T", "S"], "cmudict")  # cmudict: AE1
    assert percent.phones == ["P", "ER0", "S", "EH1", "N", "T"]  # more than one syllable: kept
    assert not cats.guessed


def test_corpus_stress():
    assert corpus_stress(["K", "AO1", "L"]) == ["K", "AO0", "L"]
    assert corpus_stress(["AH0", "B", "AW1", "T"]) == ["AH0", "B", "AW1", "T"]


def test_punctuation_apostrophes_hyphens_and_numbers():
    assert normalize_words('"Hello, world!" she said...') == ["HELLO", "WORLD", "SHE", "SAID"]
    assert normalize_words("Don\u2019t 'quote' rock'n'roll") == ["DON'T", "QUOTE", "ROCK'N'ROLL"]
    assert normalize_words("a well-known café \u2014 really") == ["A", "WELL", "KNOWN", "CAFE", "REALLY"]
    assert normalize_words("3 cats, 21st, 1,000 and 2.5") == [
        *["THREE", "CATS", "TWENTY", "FIRST", "ONE", "THOUSAND", "AND", "TWO", "POINT", "FIVE"]
    ]
    assert normalize_words("50%") == ["FIFTY", "PERCENT"]
    assert canonical_words("DON'T")[0] == ("DON'T", ["D", "OW0", "N", "T"])


def test_oov_word_gets_guessed_phones():
    (word,) = pronounce("Zorblaxian")
    assert word.source == "g2p" and word.guessed
    assert word.phones[:5] == ["Z", "AO2", "R", "B", "L"]
    assert set(word.phones) <= ARPABET


def test_impossible_tokens_are_named():
    with pytest.raises(LexiconError, match="'MP3': write numbers out"):
        canonical_words("play the MP3 now")
    with pytest.raises(LexiconError, match="'你好'"):
        canonical_words("hello 你好")


def test_g2p_matches_g2p_en(monkeypatch):
    """Our numpy decoder on g2p_en's weights gives g2p_en's own predictions."""
    nltk = pytest.importorskip("nltk")
    # g2p_en downloads NLTK data at import and reads NLTK's cmudict in its constructor: stub both.
    monkeypatch.setattr(nltk, "download", lambda *a, **k: False)
    monkeypatch.delitem(sys.modules, "g2p_en", raising=False)
    monkeypatch.delitem(sys.modules, "g2p_en.g2p", raising=False)
    import g2p_en.g2p as ref

    monkeypatch.setattr(ref, "cmudict", types.SimpleNamespace(dict=lambda: {}))
    theirs = ref.G2p()
    ours = lexicon._g2p()
    for word in ["zorblaxian", "activationist", "qwerty", "blorft", "xylophonist", "snarkle"]:
        expected = ["UW0" if p == "UW" else p for p in theirs.predict(word)]
        assert ours.predict(word) == expected, word


def test_shipped_lexicon_agrees_with_the_train_labels(corpus_dir):
    scores = json.loads((corpus_dir / "resource/scores.json").read_text())
    tokens = Counter((w["text"], tuple(w["phones"])) for u in scores.values() for w in u["words"])
    first = lexicon._corpus_lexicon()
    agree = sum(n for (word, phones), n in tokens.items() if first[word] == phones)
    assert agree / sum(tokens.values()) == pytest.approx(0.968, abs=0.001)


def test_shipped_lexicon_is_rebuilt_from_the_corpus(corpus_dir, tmp_path):
    out = tmp_path / "lexicon.txt"
    lexicon.write_corpus_lexicon(corpus_dir, out)
    shipped = (lexicon.files("lmm_apa.data") / lexicon.LEXICON_FILE).read_text(encoding="utf-8")
    assert out.read_text(encoding="utf-8") == shipped
