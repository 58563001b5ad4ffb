"""Hypothesis strategies: corpus-shaped utterances with every score on the answer alphabet's grid."""

from hypothesis import strategies as st

from lmm_apa.data.records import SENTENCE_ASPECTS, Utterance

PHONES = ["W", "IY0", "K", "AO0", "L", "IH0", "T", "B", "EH0", "R", "AH0", "S", "DH", "N", "AY1", "ZH"]
# "sentence" is a word too: the parser must tell it from the sentence line.
WORDS = ["we", "call", "it", "bear", "the", "a", "don't", "o'clock", "sentence", "mike"]


@st.composite
def utterances(draw, max_words: int = 6) -> Utterance:
    words = []
    for _ in range(draw(st.integers(1, max_words))):
        phones = draw(st.lists(st.sampled_from(PHONES), min_size=1, max_size=5))
        words.append(
            {
                "text": draw(st.sampled_from(WORDS)).upper(),
                "accuracy": draw(st.integers(0, 10)),
                "stress": draw(st.sampled_from([5, 10])),
                "total": draw(st.integers(0, 10)),
                "phones": phones,
                "phones-accuracy": [draw(st.integers(0, 10)) / 5 for _ in phones],
            }
        )
    d = {"words": words, **{a: draw(st.integers(0, 10)) for a in SENTENCE_ASPECTS}}
    return Utterance.from_corpus_dict(d, utt_id=draw(st.from_regex(r"[0-9]{9}", fullmatch=True)))
