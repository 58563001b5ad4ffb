"""`ScoringPolicy`: one object for the blend and the thresholds, saved beside the weights."""

import dataclasses
import json
from pathlib import Path

import pytest

from lmm_apa.align import thresholds
from lmm_apa.errors import ConfigError
from lmm_apa.infer.policy import (
    DEFAULT_POLICY,
    EVIDENCE_POLICY,
    POLICY_JSON,
    ScoringPolicy,
    load_policy,
    parse_share,
)
from lmm_apa.infer.scorer import DEFAULT_ADAPTER

# the report of the choice that wrote the shipped scoring_policy.json
SHARE_REPORT = Path(__file__).resolve().parents[2] / "bench/results/lmm_share_encoder_room_dev25.json"


def test_the_shipped_default_carries_its_chosen_shares_and_the_shipped_thresholds():
    """The shipped file holds the shares its committed choice chose on held-out speakers
    (scripts/choose_lmm_share.py --report) and the aligner's shipped thresholds."""
    shipped = load_policy(DEFAULT_ADAPTER)
    report = json.loads(SHARE_REPORT.read_text())
    assert shipped.lmm_share == {g: report["levels"][g]["share"] for g in ("sentence", "word", "phone")}
    assert shipped.completeness_cap is True
    assert (shipped.omission_skip_base, shipped.omission_skip_per_phone) == (6.0, 3.0)
    assert (shipped.mispronunciation_below, shipped.heard_below) == (6.0, 1.0)
    assert shipped.source.endswith(f"default/{POLICY_JSON}")
    assert dataclasses.replace(shipped, lmm_share=DEFAULT_POLICY.lmm_share) == DEFAULT_POLICY


def test_the_built_in_default_is_the_lmms_own_scores_with_the_shipped_thresholds(tmp_path):
    assert load_policy(tmp_path) is DEFAULT_POLICY and load_policy(None) is DEFAULT_POLICY
    assert DEFAULT_POLICY.lmm_share == {"sentence": 1.0, "word": 1.0, "phone": 1.0}
    assert not DEFAULT_POLICY.blends and EVIDENCE_POLICY.blends
    assert DEFAULT_POLICY.omission_skip_base == thresholds.SKIP_BASE
    assert DEFAULT_POLICY.omission_skip_per_phone == thresholds.SKIP_PER_PHONE
    assert DEFAULT_POLICY.mispronunciation_below == thresholds.MISPRONUNCIATION_BELOW
    assert DEFAULT_POLICY.heard_below == thresholds.HEARD_BELOW


def test_save_and_load_round_trip(tmp_path):
    policy = ScoringPolicy(
        lmm_share={"sentence": 0.3, "word": 0.0, "phone": 0.1},
        completeness_cap=False,
        omission_skip_base=5.0,
        omission_skip_per_phone=2.5,
        mispronunciation_below=5.5,
        heard_below=0.8,
        note="chosen on half A",
    )
    path = policy.save(tmp_path)
    assert path.name == POLICY_JSON
    back = load_policy(tmp_path)
    assert back == policy and back.note == "chosen on half A" and back.source == str(path)
    assert json.loads(path.read_text()) == policy.to_json()
    assert "source" not in policy.to_json() and "note" not in policy.to_meta()
    assert policy.to_meta()["lmm_share"] == {"sentence": 0.3, "word": 0.0, "phone": 0.1}


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"lmm_share": {"sentence": 1, "word": 1, "phone": 1}, "share": 1}', "unknown key(s) ['share']"),
        ('{"lmm_share": {"sentence": 0.5, "word": 0.5}}', "no share for phone"),
        (
            '{"lmm_share": {"sentence": 1.5, "word": 0, "phone": 0}}',
            "lmm_share.sentence: 1.5 is not between 0 and 1",
        ),
        (
            '{"lmm_share": {"sentence": 1, "word": 1, "phone": 1, "syllable": 1}}',
            "unknown level(s) ['syllable']",
        ),
        (
            '{"lmm_share": {"sentence": "a", "word": 1, "phone": 1}}',
            "lmm_share.sentence: 'a' is not a number",
        ),
        ('{"heard_below": 3}', "heard_below: 3 is not within 0-2"),
        ('{"mispronunciation_below": -1}', "mispronunciation_below: -1 is not within 0-10"),
        ('{"omission_skip_base": 0}', "omission_skip_base: 0 is not above 0"),
        ('{"omission_skip_per_phone": true}', "omission_skip_per_phone: expected a number"),
        ('{"completeness_cap": "yes"}', "completeness_cap: expected true or false"),
    ],
)
def test_a_bad_policy_file_says_what_is_wrong_and_where(tmp_path, content, says):
    (tmp_path / POLICY_JSON).write_text(content)
    with pytest.raises(ConfigError) as e:
        load_policy(tmp_path)
    assert says in str(e.value) and POLICY_JSON in str(e.value)


def test_shares_parse_from_one_number_or_per_level():
    assert parse_share(0.3) == parse_share("0.3") == {"sentence": 0.3, "word": 0.3, "phone": 0.3}
    assert parse_share("sentence=0.3, word=0") == {"sentence": 0.3, "word": 0.0}
    assert parse_share({"phone": 1}) == {"phone": 1.0}
    for bad, says in [
        ("2", "not between 0 and 1"),
        ("half", "'half' is not a number"),
        ("sentence=0.3,phon=1", "unknown level(s) ['phon']"),
        ("sentence=0.3,word", "'word' is not level=share"),
        (True, "expected a number"),
        (float("nan"), "expected a number"),
    ]:
        with pytest.raises(ConfigError, match="lmm_share") as e:
            parse_share(bad)
        assert says in str(e.value)


def test_an_override_replaces_the_levels_it_names_and_keeps_the_rest():
    shipped = load_policy(DEFAULT_ADAPTER)
    over = shipped.with_share("word=0,phone=1")
    assert over.lmm_share == {"sentence": shipped.lmm_share["sentence"], "word": 0.0, "phone": 1.0}
    assert over.source.endswith("+ --lmm-share") and over.heard_below == shipped.heard_below
    assert shipped == load_policy(DEFAULT_ADAPTER)  # the loaded policy is not changed
    assert shipped.with_share(1).lmm_share == DEFAULT_POLICY.lmm_share and not shipped.with_share(1).blends
