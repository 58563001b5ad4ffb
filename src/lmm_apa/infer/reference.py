"""The reference a learner meant to read: words and canonical phones, no scores yet."""

from lmm_apa.data.lexicon import pronounce
from lmm_apa.data.records import Phone, Utterance, Word
from lmm_apa.errors import LexiconError


def reference_utterance(text: str, utt_id: str = "input") -> Utterance:
    """An unscored Utterance for ``text`` (phones from the corpus lexicon, cmudict or letter-to-sound)."""
    words = pronounce(text)
    if not words:
        raise LexiconError(f"the text {text!r} has no words to score")
    return Utterance(
        utt_id=utt_id,
        text=" ".join(w.text for w in words),
        words=[Word(text=w.text, phones=[Phone(symbol=p) for p in w.phones]) for w in words],
    )
