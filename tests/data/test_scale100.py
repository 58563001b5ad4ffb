"""The 0-100 view (`lmm_apa.data.scale100`): one linear map, sentence/word x10, phone x50."""

import copy

import pytest

from lmm_apa.data.records import SCALES
from lmm_apa.data.scale100 import FACTORS, to_scale_100

RESULT = {
    "utt_id": "a",
    "text": "WE CALL",
    "accuracy": 7.3,
    "completeness": 10.0,
    "fluency": 0.7,
    "words": [
        {"text": "WE", "accuracy": 9.0, "stress": 5.0, "total": 8.5, "phones": ["W", "IY0"],
         "phones-accuracy": [2.0, 1.3], "start": 0.12, "end": 0.42, "phones-start": [0.12, 0.25]},
        {"text": "CALL", "phones": ["K"], "phones-accuracy": [None], "start": None, "end": None},
    ],
    "uncertainty": {"accuracy": 0.5, "words": [{"text": "WE", "total": 1.25, "phones-accuracy": [0.1, 0.2]}]},
}  # fmt: skip


def test_every_scale_maps_onto_0_100():
    for (granularity, _), (lo, hi) in SCALES.items():
        assert (lo * FACTORS[granularity], hi * FACTORS[granularity]) == (0, 100)


def test_scores_and_uncertainties_scale_and_nothing_else_changes():
    before = copy.deepcopy(RESULT)
    out = to_scale_100(RESULT)
    assert RESULT == before  # a copy
    assert out["scale"] == 100
    assert (out["accuracy"], out["completeness"], out["fluency"]) == (73.0, 100.0, 7.0)
    we, call = out["words"]
    assert (we["accuracy"], we["stress"], we["total"]) == (90.0, 50.0, 85.0)
    assert we["phones-accuracy"] == [100.0, 65.0] and call["phones-accuracy"] == [None]
    assert we["start"] == 0.12 and we["phones-start"] == [0.12, 0.25] and call["start"] is None
    assert "accuracy" not in call  # absent stays absent
    assert out["uncertainty"]["accuracy"] == 5.0
    assert out["uncertainty"]["words"][0] == {"text": "WE", "total": 12.5, "phones-accuracy": [5.0, 10.0]}


def test_twice_is_refused():
    with pytest.raises(ValueError, match="0-100 scale already"):
        to_scale_100(to_scale_100(RESULT))
