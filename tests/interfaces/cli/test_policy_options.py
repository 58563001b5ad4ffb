"""`--lmm-share` on the CLI and the scoring policy in `model info` and in every result's meta."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import lmm_apa.infer.scorer as scorer_module
from lmm_apa.infer.policy import DEFAULT_POLICY, ScoringPolicy, load_policy
from lmm_apa.infer.scorer import DEFAULT_ADAPTER
from lmm_apa.interfaces.cli.app import app
from tests.interfaces.cli.helpers import BEAR_TEXT, StandInScorer, json_lines


@pytest.fixture
def bear_path(corpus_dir) -> str:
    return str(corpus_dir / "WAVE" / "SPEAKER0001" / "000010011.flac")


def test_the_share_reaches_the_scorer_and_the_applied_policy_is_in_every_line(monkeypatch, bear_path):
    asked = {}

    def load(model, **kw):
        asked.update(kw)
        scorer = StandInScorer()
        scorer.policy = DEFAULT_POLICY.with_share(kw["lmm_share"])
        return scorer

    monkeypatch.setattr(scorer_module, "load_scorer", load)
    done = CliRunner().invoke(
        app, ["score", bear_path, "--text", BEAR_TEXT, "--json", "--lmm-share", "word=0"]
    )
    assert done.exit_code == 0, done.output
    assert asked["lmm_share"] == "word=0"
    meta = json_lines(done.stdout)[0]["meta"]
    assert meta["policy"]["lmm_share"] == {"sentence": 1.0, "word": 0.0, "phone": 1.0}
    assert meta["policy"]["source"] == "built-in default + --lmm-share" and meta["model"] == "default"


@pytest.mark.parametrize("command", ["score", "evaluate"])
@pytest.mark.parametrize(("share", "says"), [("1.5", "between 0 and 1"), ("sentence=x", "not a number")])
def test_a_bad_share_exits_2_before_the_model_loads(monkeypatch, bear_path, command, share, says):
    monkeypatch.setattr(scorer_module, "load_scorer", lambda *a, **k: pytest.fail("the model was loaded"))
    args = [bear_path, "--text", BEAR_TEXT] if command == "score" else ["--data", "nowhere"]
    done = CliRunner().invoke(app, [command, *args, "--lmm-share", share])
    assert done.exit_code == 2 and says in " ".join(done.output.split())


def test_model_info_shows_the_policy_and_says_when_it_is_the_built_in_one(tmp_path):
    shipped = CliRunner().invoke(app, ["model", "info", str(tmp_path / "no-backbone")])
    out = " ".join(shipped.output.split())
    assert "scoring policy of --model default" in out
    shares = load_policy(DEFAULT_ADAPTER).lmm_share
    assert ", ".join(f"{g} {v:g}" for g, v in shares.items()) in out and "6 + 3 a phone" in out
    assert "weights/default/scoring_policy.json" in out.replace(" ", "")
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "lmm_apa_adapter.json").write_text('{"base": "default"}')
    bare = CliRunner().invoke(app, ["model", "info", str(tmp_path / "no-backbone"), "--model", str(adapter)])
    said = " ".join(bare.output.split())
    assert "sentence 1, word 1, phone 1" in said and "no scoring_policy.json beside its weights" in said
    ScoringPolicy(heard_below=0.7).save(adapter)
    own = CliRunner().invoke(app, ["model", "info", str(tmp_path / "no-backbone"), "--model", str(adapter)])
    assert "heard phone: phone accuracy below │ 0.7 " in " ".join(own.output.split())
