"""The scorer applies the policy its adapter carries, the same way for any adapter; overrides win."""

import shutil

import numpy as np
import pytest

from lmm_apa.errors import ConfigError
from lmm_apa.infer.policy import DEFAULT_POLICY, EVIDENCE_POLICY, ScoringPolicy, result_meta
from lmm_apa.infer.scorer import Scorer, load_scorer, model_policy


def _flat(u) -> list[float]:
    out = [u.score(a) for a in ("accuracy", "fluency", "prosodic", "total")]
    for w in u.words:
        out += [w.accuracy, w.stress, w.total] + [p.accuracy for p in w.phones]
    return out


@pytest.fixture(scope="module")
def plain(tiny_adapter) -> Scorer:
    """The tiny adapter, no policy file: the built-in default (the LMM's own scores)."""
    return load_scorer(tiny_adapter)


@pytest.fixture(scope="module")
def with_policy(tiny_adapter, tmp_path_factory):
    """The same weights in a folder that carries a policy file: half the LMM at every level."""
    folder = tmp_path_factory.mktemp("tiny-with-policy") / "adapter"
    shutil.copytree(tiny_adapter, folder)
    ScoringPolicy(lmm_share={"sentence": 0.5, "word": 0.5, "phone": 0.5}).save(folder)
    return folder


def test_an_adapter_without_a_policy_file_scores_under_the_built_in_default(plain):
    assert plain.policy == DEFAULT_POLICY and plain.lmm_share is None
    assert result_meta(plain, "x")["policy"]["source"] == "built-in default"


def test_a_policy_file_beside_any_adapter_is_applied(plain, with_policy, bear):
    audio, text = bear
    blended = load_scorer(with_policy)
    assert blended.lmm_share == {"sentence": 0.5, "word": 0.5, "phone": 0.5}
    assert model_policy(with_policy) == blended.policy
    a, b = plain.assess_text(audio, text).utterance, blended.assess_text(audio, text).utterance
    assert not np.allclose(_flat(a), _flat(b), atol=1e-3)
    # half-way between the LMM's own and the readout's (times and omissions as the aligner heard)
    evidence = load_scorer("evidence").assess_text(audio, text).utterance
    w0, wa, we = a.words[0], b.words[0], evidence.words[0]
    assert wa.accuracy == pytest.approx(0.5 * w0.accuracy + 0.5 * we.accuracy, abs=1e-4)


def test_a_share_of_0_gives_the_evidence_scorers_scores(tiny_adapter, bear):
    audio, text = bear
    readout_only = load_scorer(tiny_adapter, lmm_share=0)
    evidence = load_scorer("evidence")
    assert evidence.policy.lmm_share == EVIDENCE_POLICY.lmm_share
    a, b = readout_only.assess_text(audio, text), evidence.assess_text(audio, text)
    np.testing.assert_allclose(_flat(a.utterance), _flat(b.utterance), atol=1e-6)
    assert a.to_json() == b.to_json()


def test_the_override_wins_over_the_file_and_meta_records_what_was_applied(with_policy):
    scorer = load_scorer(with_policy, lmm_share="word=0")
    assert scorer.lmm_share == {"sentence": 0.5, "word": 0.0, "phone": 0.5}
    meta = result_meta(scorer, "mine", whisper={"sha256": "x"})
    assert meta["model"] == "mine" and meta["whisper"] == {"sha256": "x"}
    assert meta["policy"]["lmm_share"] == {"sentence": 0.5, "word": 0.0, "phone": 0.5}
    assert meta["policy"]["source"].endswith("scoring_policy.json + --lmm-share")


def test_shares_no_scorer_can_apply_are_refused(tiny_adapter):
    with pytest.raises(ConfigError, match="share is 0 by definition"):
        load_scorer("evidence", lmm_share=0.5)
    assert load_scorer("evidence", lmm_share=0).policy.lmm_share == EVIDENCE_POLICY.lmm_share
    with pytest.raises(ConfigError, match="listening on"):
        load_scorer(tiny_adapter, listen=False, lmm_share="sentence=0.5")
    with pytest.raises(ConfigError, match="not between 0 and 1"):
        load_scorer(tiny_adapter, lmm_share=2)


def test_without_listening_the_lmms_own_scores_are_what_the_meta_says(with_policy):
    scorer = load_scorer(with_policy, listen=False)
    assert scorer.lmm_share is None and not scorer.policy.blends
    assert "no listening" in scorer.policy.source


def test_the_listener_decides_omissions_at_the_policys_cost(plain):
    costly = ScoringPolicy(omission_skip_base=9.0)
    with pytest.raises(ValueError, match="cost"):
        Scorer(plain.lmm, listener=plain.listener, policy=costly)
    scorer = load_scorer("evidence")
    assert (scorer.listener.aligner.skip_base, scorer.listener.aligner.skip_per_phone) == (6.0, 3.0)
