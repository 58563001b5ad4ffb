"""The 0-100 view of the corpus scales, for users coming from Azure's pronunciation assessment.

One linear map, from Speechocean762's scales (`lmm_apa.data.records.SCALES`) to 0-100:

| granularity | corpus scale | 0-100 view |
|---|---|---|
| sentence (accuracy, completeness, fluency, prosodic, total) | 0-10 | x 10 |
| word (accuracy, stress, total) | 0-10 (stress 5 or 10) | x 10 (stress 50 or 100) |
| phone accuracy | 0-2 | x 50 |

A view only: a 0-100 score says no more than the corpus score it comes from (a word accuracy of 7
is 70, not "70%" of anything). Uncertainties (standard deviations) scale by the same factor. Labels,
predictions files and the API keep the corpus scales unless the 0-100 view is asked for; a result in
it says so with ``"scale": 100``.
"""

from __future__ import annotations

import copy
from typing import Any

from lmm_apa.data.records import SENTENCE_ASPECTS, WORD_ASPECTS

FACTORS: dict[str, float] = {"sentence": 10.0, "word": 10.0, "phone": 50.0}
SCALE_KEY = "scale"


def _times(value: Any, factor: float) -> Any:
    # round(.., 4): 0.7 * 10 is 7.000000000000001 in floating point; no score has more digits.
    return None if value is None else round(float(value) * factor, 4)


def _rescale_scores(d: dict[str, Any]) -> None:
    """Sentence, word and phone scores of a corpus-shaped dict (a result or its uncertainty), in place."""
    for aspect in SENTENCE_ASPECTS:
        if aspect in d:
            d[aspect] = _times(d[aspect], FACTORS["sentence"])
    for word in d.get("words", []):
        for aspect in WORD_ASPECTS:
            if aspect in word:
                word[aspect] = _times(word[aspect], FACTORS["word"])
        if word.get("phones-accuracy") is not None:
            word["phones-accuracy"] = [_times(x, FACTORS["phone"]) for x in word["phones-accuracy"]]


def to_scale_100(result: dict[str, Any]) -> dict[str, Any]:
    """A copy of a result in the corpus schema (`ScoreResult.to_json()`, a predictions line) with
    every score, and its ``uncertainty``, on 0-100, and ``"scale": 100``. Times are left as they are."""
    if result.get(SCALE_KEY) == 100:
        raise ValueError("the result is on the 0-100 scale already")
    out = copy.deepcopy(result)
    _rescale_scores(out)
    if isinstance(out.get("uncertainty"), dict):
        _rescale_scores(out["uncertainty"])
    out[SCALE_KEY] = 100
    return out
