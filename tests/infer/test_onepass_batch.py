"""Batched one-pass scoring reads what one-at-a-time scoring reads, and keeps errors per item."""

import numpy as np
import pytest
import torch

from lmm_apa.errors import AudioError, LmmApaError
from lmm_apa.infer.onepass import onepass_scores, onepass_scores_batch
from lmm_apa.infer.reference import reference_utterance
from lmm_apa.infer.scorer import ScoreResult, load_scorer

# Speaker 0001: different lengths, so a batch pads every row but its longest.
RECORDINGS = (
    ("000010011", "WE CALL IT BEAR"),
    ("000010035", "ZERO THREE FIVE ONE"),
    ("000010069", "TOM GIVES UP BOXING"),
    ("000010053", "THREE TWO TWO SEVEN"),
)


@pytest.fixture(scope="module")
def items(corpus_dir) -> list[tuple[str, str, str]]:
    return [(str(corpus_dir / "WAVE" / "SPEAKER0001" / f"{u}.flac"), t, u) for u, t in RECORDINGS]


@pytest.fixture(scope="module")
def scorer(tiny_adapter):
    s = load_scorer(tiny_adapter, mode="onepass", batch_size=4)
    assert s.lmm.merged or s.lmm._peft is None  # merged at load
    return s


def _flat(result: ScoreResult) -> np.ndarray:
    """Every score of the utterance, in a fixed order."""
    u = result.utterance
    values = [u.score(a) for a in ("accuracy", "completeness", "fluency", "prosodic", "total")]
    for w in u.words:
        values += [w.accuracy, w.stress, w.total] + [p.accuracy for p in w.phones]
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def test_a_padded_batch_scores_each_row_as_it_scores_alone(scorer, items):
    lmm = scorer.lmm
    from lmm_apa.data.audio import load_audio

    refs = [reference_utterance(t, u) for _, t, u in items]
    feats = [lmm.encode_audio(load_audio(a)) for a, _, _ in items]
    assert len({len(f) for f in feats}) == len(feats)  # distinct lengths: padding is exercised
    batch = onepass_scores_batch(lmm, feats, refs, "multi", batch_size=4)
    for f, ref, got in zip(feats, refs, batch, strict=True):
        alone = onepass_scores(lmm, f, ref, "multi")
        assert got.slots == alone.slots
        torch.testing.assert_close(got.probs, alone.probs, atol=1e-4, rtol=1e-3)
    # Two passes (refilled slots) per row too, and a token budget that splits the batch.
    two = onepass_scores_batch(lmm, feats, refs, "multi", passes=2, batch_size=4, max_tokens=600)
    for f, ref, got in zip(feats, refs, two, strict=True):
        torch.testing.assert_close(
            got.probs, onepass_scores(lmm, f, ref, "multi", passes=2).probs, atol=1e-4, rtol=1e-3
        )


def test_assess_texts_matches_assess_text_and_reports_bad_items_in_place(scorer, items, fixtures_dir):
    bad = [
        (str(fixtures_dir / "audio_corrupt.wav"), "WE CALL IT BEAR", "corrupt"),
        (items[0][0], "", "empty"),
    ]
    mixed = [items[0], bad[0], items[1], items[2], bad[1], items[3]]
    out = scorer.assess_texts(mixed)
    assert isinstance(out[1], AudioError) and isinstance(out[4], LmmApaError)
    for item, got in zip(mixed, out, strict=True):
        if item in bad:
            continue
        want = scorer.assess_text(*item[:2], utt_id=item[2])
        assert got.utterance.utt_id == item[2]
        np.testing.assert_allclose(_flat(got), _flat(want), atol=1e-4)
        # what the aligner heard is merged per item, as assess does it
        assert [w.start for w in got.utterance.words] == [w.start for w in want.utterance.words]
        assert got.std.keys() == want.std.keys()


def test_an_item_that_fails_in_the_batch_fails_alone(scorer, items, monkeypatch):
    """A model error raised for the batch as a whole: each item is retried on its own, and only the
    item at fault reports it."""
    import lmm_apa.infer.onepass as onepass
    from lmm_apa.errors import ModelError

    real = onepass.onepass_scores_batch

    def fails_on_0035(lmm, feats, references, *args, **kwargs):
        if any(r.utt_id == "000010035" for r in references):
            raise ModelError("the model cannot read 000010035")
        return real(lmm, feats, references, *args, **kwargs)

    monkeypatch.setattr(onepass, "onepass_scores_batch", fails_on_0035)
    out = scorer.assess_texts(items)
    assert [type(r).__name__ for r in out] == ["ScoreResult", "ModelError", "ScoreResult", "ScoreResult"]
    assert "000010035" in str(out[1])


def test_only_the_slots_the_blend_uses_are_read_and_the_scores_stay_the_same(scorer, items):
    """With no LMM share at the word and phone levels (the shipped blend), the forward pass stops
    after the sentence slots; what comes out is what reading every slot gave."""
    from lmm_apa.infer.policy import DEFAULT_POLICY
    from lmm_apa.infer.scorer import Scorer

    policy = DEFAULT_POLICY.with_share({"sentence": 0.25, "word": 0.0, "phone": 0.0})
    args = dict(task="multi", mode="onepass", listener=scorer.listener, policy=policy)
    cut, full = Scorer(scorer.lmm, **args), Scorer(scorer.lmm, **args)
    full.read_all_slots = True
    read: list[int] = []
    lm = scorer.lmm._hf.model.language_model
    hook = lm.register_forward_pre_hook(
        lambda m, a, kw: read.append(kw["inputs_embeds"].shape[1]), with_kwargs=True
    )
    try:
        got = cut.assess_texts(items)
        n_cut = list(read)
        want = full.assess_texts(items)
    finally:
        hook.remove()
    assert max(n_cut) < min(read[len(n_cut) :]) - 20  # the answer was cut after its sentence slots
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(_flat(g), _flat(w), atol=1e-5)
        assert g.to_json()["uncertainty"] == w.to_json()["uncertainty"]
    # and the sentence slots read alone are those of the whole answer
    refs = [reference_utterance(t, u) for _, t, u in items[:2]]
    from lmm_apa.data.audio import load_audio

    feats = [scorer.lmm.encode_audio(load_audio(a)) for a, _, _ in items[:2]]
    alone = onepass_scores_batch(scorer.lmm, feats, refs, "multi", granularities={"sentence"})
    for f, ref, r in zip(feats, refs, alone, strict=True):
        whole = onepass_scores(scorer.lmm, f, ref, "multi")
        assert [s.granularity for s in r.slots] == ["sentence"] * 5
        torch.testing.assert_close(r.probs, whole.probs[:5], atol=1e-4, rtol=1e-3)
