"""HierScorer: fits, predicts in the corpus' scales and schema, round-trips through save/load, learns.

Synthetic alignments (no recogniser, no audio): each phone's GOP and phone-mass share are its label
plus noise, so a scorer that learns anything scores the well-said phones, words and sentences higher.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lmm_apa.align.aligner import Alignment, PhoneAlignment, WordAlignment, _word_stats
from lmm_apa.align.evidence import PHONE_SCALARS
from lmm_apa.align.hier_scorer import HierConfig, HierScorer, collate, hier_loss, pairwise_rank_loss
from lmm_apa.align.phoneset import PHONES, phone_id
from lmm_apa.data.records import Phone, Utterance, Word

_SYMBOLS = ("AH0", "IY1", "K", "T", "S", "ER0", "N", "EH1")
_D_STATE = 8


def _phone(symbol: str, acc: float, t: float, omitted: bool, rng: np.random.Generator) -> PhoneAlignment:
    quality = acc - 1.0 + rng.normal(0, 0.3)
    stats = {k: float(rng.normal()) for k in PHONE_SCALARS}
    stats |= {"gop": 3 * quality, "log_share": quality - 1.0, "omitted": float(omitted)}
    share = rng.dirichlet(np.ones(len(PHONES)))
    state = rng.normal(size=_D_STATE) + quality
    start, end = (None, None) if omitted else (t, t + 0.1)
    return PhoneAlignment(symbol, start, end, "AA", stats, share, state, np.zeros(0))


def _utterance(i: int, rng: np.random.Generator, omit: bool = False) -> tuple[Utterance, Alignment]:
    words, wal, t = [], [], 0.0
    for j in range(int(rng.integers(2, 5))):
        symbols = list(rng.choice(_SYMBOLS, size=int(rng.integers(1, 4))))
        accs = rng.choice([0.0, 1.0, 2.0, 2.0, 2.0], size=len(symbols))
        omitted = omit and j == 0
        phones = [
            _phone(s, a, t + 0.1 * k, omitted, rng)
            for k, (s, a) in enumerate(zip(symbols, accs, strict=True))
        ]
        score = round(10 * accs.mean() / 2)
        words.append(
            Word(text=f"W{j}", accuracy=score, stress=10.0, total=score,
                 phones=[Phone(symbol=s, accuracy=a) for s, a in zip(symbols, accs, strict=True)])
        )  # fmt: skip
        start, end = (None, None) if omitted else (t, t + 0.1 * len(symbols))
        wal.append(
            WordAlignment(
                f"W{j}",
                start,
                end,
                omitted,
                phones,
                _word_stats(phones, None if omitted else -0.5, None if omitted else 5 * len(symbols)),
            )
        )
        t += 0.1 * len(symbols) + 0.05
    sent = round(float(np.mean([w.accuracy for w in words])))
    utt = Utterance(
        utt_id=f"u{i:03d}", text=" ".join(w.text for w in words), words=words, speaker=f"s{i % 3}",
        accuracy=sent, completeness=10.0, fluency=sent, prosodic=sent, total=sent,
    )  # fmt: skip
    return utt, Alignment(wal, [], t + 0.2)


@pytest.fixture(scope="module")
def corpus() -> tuple[list[Utterance], list[Alignment]]:
    rng = np.random.default_rng(0)
    pairs = [_utterance(i, rng, omit=i % 10 == 9) for i in range(40)]
    return [u for u, _ in pairs], [a for _, a in pairs]


def _small(**kw) -> HierConfig:
    return HierConfig(d_model=32, n_heads=2, epochs=2, batch_size=8, **kw)


def test_two_epochs_fit_and_predict_in_scale_and_schema(corpus):
    utts, als = corpus
    scorer = HierScorer(_small(rank_weight=0.5)).fit(utts, als, seed=0)
    assert len(scorer.history) == 1 and len(scorer.history[0]) == 2
    for u, al in zip(utts, als, strict=True):
        pred = scorer.predict(u.unlabelled(), al)
        assert [w.text for w in pred.words] == [w.text for w in u.words]
        assert [p.symbol for p in pred.phones] == [p.symbol for p in u.phones]
        assert all(0.0 <= p.accuracy <= 2.0 for p in pred.phones)
        for w, wa in zip(pred.words, al.words, strict=True):
            assert all(0.0 <= getattr(w, a) <= 10.0 for a in ("accuracy", "stress", "total"))
            if wa.omitted:  # the evidence scorer's rules for a word not said
                assert (w.accuracy, w.stress, w.total) == (0.0, 5.0, 0.0)
                assert all(p.accuracy == 0.0 for p in w.phones)
            assert HierScorer.error_type(wa, w.accuracy) in ("none", "mispronunciation", "omission")
        assert pred.completeness == pytest.approx(10.0 * al.said / len(al.words))
        for a in ("accuracy", "fluency", "prosodic", "total"):
            assert 0.0 <= getattr(pred, a) <= pred.completeness
        # the corpus schema: the predictions line round-trips through the record's own parser
        assert Utterance.from_corpus_dict(pred.to_corpus_dict()) == pred.model_copy(
            update={"speaker": None, "audio_path": None}
        )


def test_save_load_gives_identical_predictions(corpus, tmp_path):
    utts, als = corpus
    scorer = HierScorer(_small(n_seeds=2, sentence="ridge")).fit(utts[:20], als[:20], seed=3)
    loaded = HierScorer.load(scorer.save(tmp_path / "hier", fit_split="synthetic"))
    assert len(loaded.models) == 2
    for u, al in zip(utts[20:], als[20:], strict=True):
        assert loaded.predict(u.unlabelled(), al) == scorer.predict(u.unlabelled(), al)


def test_loss_decreases_on_a_tiny_overfit_set(corpus):
    utts, als = corpus
    scorer = HierScorer(HierConfig(d_model=32, n_heads=2, epochs=60, batch_size=4, dropout=0.0, lr=3e-3))
    scorer.fit(utts[:8], als[:8], seed=0)
    hist = scorer.history[0]
    assert hist[-1] < 0.3 * hist[0], hist
    # and it has learned the training phones: well-said ones score above badly said ones
    preds = np.concatenate([scorer.scores(u, al)[0] for u, al in zip(utts[:8], als[:8], strict=True)])
    labels = np.array([p.accuracy for u in utts[:8] for p in u.phones])
    said = np.concatenate([[not w.omitted] * len(w.phones) for al in als[:8] for w in al.words])
    assert np.corrcoef(preds[said], labels[said])[0, 1] > 0.8


def test_extra_features_hook_widens_the_inputs_and_must_be_passed_to_load(corpus, tmp_path):
    utts, als = corpus

    def prosody(al: Alignment, utt: Utterance) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n_p = sum(len(w.phones) for w in al.words)
        return np.ones((n_p, 2)), np.ones((len(al.words), 3)), np.ones(4)

    scorer = HierScorer(_small(), extra_features=prosody).fit(utts[:10], als[:10])
    assert (
        scorer.models[0].phone_in[0].in_features
        == HierScorer(_small()).fit(utts[:10], als[:10]).models[0].phone_in[0].in_features + 2
    )
    folder = scorer.save(tmp_path / "hier")
    with pytest.raises(Exception, match="extra_features"):
        HierScorer.load(folder)
    loaded = HierScorer.load(folder, extra_features=prosody)
    assert loaded.predict(utts[0].unlabelled(), als[0]) == scorer.predict(utts[0].unlabelled(), als[0])


def test_pairwise_rank_loss_prefers_the_right_order():
    """Targets (0, 1): predictions in order (0, 1) cost softplus(-10) twice (~4.5e-5), reversed
    (1, 0) cost softplus(10) twice (~10.00005); ties give no pairs and zero loss."""
    y = torch.tensor([0.0, 1.0])
    assert pairwise_rank_loss(torch.tensor([0.0, 1.0]), y).item() == pytest.approx(4.54e-5, rel=1e-2)
    assert pairwise_rank_loss(torch.tensor([1.0, 0.0]), y).item() == pytest.approx(10.0, rel=1e-3)
    assert pairwise_rank_loss(torch.tensor([0.3, 0.9]), torch.tensor([1.0, 1.0])).item() == 0.0


def test_loss_leaves_out_omitted_words(corpus):
    utts, als = corpus
    from lmm_apa.align.hier_scorer import _targets, utterance_inputs

    item = utterance_inputs(als[9]) | _targets(utts[9])  # utterance 9: its first word unsaid
    b = collate([item])
    n_p, n_w = b["pid"].shape[1], b["wx"].shape[1]
    first = len(als[9].words[0].phones)
    phone, word = torch.zeros(1, n_p), torch.zeros(1, n_w, 3)
    phone[0, :first], word[0, 0] = 100.0, 100.0  # wild predictions on the unsaid word only
    base = hier_loss((torch.zeros(1, n_p), torch.zeros(1, n_w, 3), torch.zeros(1, 4)), b, 0.0)
    assert hier_loss((phone, word, torch.zeros(1, 4)), b, 0.0).item() == pytest.approx(base.item())
    assert phone_id(als[9].words[0].phones[0].symbol) == b["pid"][0, 0].item()
