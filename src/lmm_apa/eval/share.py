"""Choose the LMM's share per level on half the speakers, report it on the other half.

The share of a level is the weight w in ``w * LMM + (1 - w) * evidence readout`` for every aspect of
that level (`lmm_apa.infer.heard.blend_scores`). Given the LMM's own and the readout's predictions
of the same held-out recordings (speakers neither model trained on), the speakers are split in two
at random (seeded): the share that maximises the mean PCC of the level's aspects on one half is
chosen, and its PCC is reported on the other half, with the LMM alone (1) and the readout alone (0)
beside it, so the choice is not measured on the recordings it was made on.

Both files are predictions after listening (`lmm-apa evaluate --predictions-out`: the LMM's with
``--lmm-share 1``, the readout's with ``--model evidence``), so omitted words are already 0 in both
and blending them is blending before the merge; only the completeness cap is applied to each part
rather than to the blend, which moves a sentence score only where words were left out.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from lmm_apa.data.records import ASPECTS, Utterance
from lmm_apa.errors import DataError
from lmm_apa.eval.metrics import pair_scores
from lmm_apa.infer.policy import LEVELS

# Shares tried: steps of 0.05 (finer than the differences the halves can tell apart).
GRID: tuple[float, ...] = tuple(round(0.05 * k, 2) for k in range(21))


def split_speakers(labels: Sequence[Utterance], seed: int = 0) -> tuple[list[Utterance], list[Utterance]]:
    """(choose half, report half) of ``labels``, split by speaker (seeded shuffle, half each)."""
    speakers = sorted({u.speaker or u.utt_id for u in labels})
    if len(speakers) < 4:
        raise DataError(
            f"{len(speakers)} speakers: need at least 4 to choose on half and report on the other"
        )
    random.Random(seed).shuffle(speakers)
    first = set(speakers[: len(speakers) // 2])
    choose = [u for u in labels if (u.speaker or u.utt_id) in first]
    report = [u for u in labels if (u.speaker or u.utt_id) not in first]
    return choose, report


def _level_arrays(
    labels: Sequence[Utterance], lmm: Mapping[str, Utterance], evidence: Mapping[str, Utterance], level: str
) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """{aspect: (labels, LMM, readout)} of each aspect of ``level`` both scored on exactly the same items."""
    pairs_l, _ = pair_scores(labels, lmm)
    pairs_e, _ = pair_scores(labels, evidence)
    out = {}
    for aspect in ASPECTS[level]:
        a, b = pairs_l[(level, aspect)], pairs_e[(level, aspect)]
        # completeness is the aligner's count of words said, not blended; a level the LMM did not
        # read (or items one of them left out) cannot be paired
        if aspect == "completeness" or len(a.labels) < 3 or a.labels != b.labels or a.clusters != b.clusters:
            continue
        if np.ptp(a.labels) == 0:  # constant labels: nothing to correlate
            continue
        out[aspect] = (np.asarray(a.labels), np.asarray(a.preds), np.asarray(b.preds))
    return out


def _pcc(y: np.ndarray, p: np.ndarray) -> float:
    if len(y) < 3 or np.ptp(y) == 0 or np.ptp(p) == 0:
        return float("nan")
    return float(np.corrcoef(y, p)[0, 1])


def _mean_pcc(arrays: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]], w: float) -> float:
    return float(np.mean([_pcc(y, w * a + (1.0 - w) * b) for y, a, b in arrays.values()]))


def choose_shares(
    labels: Sequence[Utterance],
    lmm: Mapping[str, Utterance],
    evidence: Mapping[str, Utterance],
    seed: int = 0,
    grid: Sequence[float] = GRID,
) -> dict[str, Any]:
    """Per level: the share chosen on one half of the speakers and the PCCs on the other.

    Returns ``{"speakers": {"choose": n, "report": n}, "levels": {level: {"share": w, "aspects":
    [...], "choose_pcc": x, "report_pcc": {"chosen": x, "lmm": x, "readout": x}}}}`` (mean PCC of
    the level's aspects). A level with nothing to correlate (the LMM's file does not score it, or
    its labels do not vary) keeps the readout's alone (0).
    """
    choose, report = split_speakers(labels, seed)
    out: dict[str, Any] = {
        "seed": seed,
        "speakers": {"choose": len({u.speaker for u in choose}), "report": len({u.speaker for u in report})},
        "utterances": {"choose": len(choose), "report": len(report)},
        "levels": {},
    }
    for level in LEVELS:
        mine = _level_arrays(choose, lmm, evidence, level)
        theirs = _level_arrays(report, lmm, evidence, level)
        common = sorted(set(mine) & set(theirs))
        mine, theirs = {k: mine[k] for k in common}, {k: theirs[k] for k in common}
        if not common:
            out["levels"][level] = {
                "share": 0.0,
                "aspects": [],
                "note": "no scores of both files to correlate here",
            }
            continue
        scores = [_mean_pcc(mine, w) for w in grid]
        best = int(np.nanargmax(scores))  # the first best: the smaller LMM share on a tie
        share = float(grid[best])
        out["levels"][level] = {
            "share": share,
            "aspects": common,
            "choose_pcc": round(scores[best], 4),
            "report_pcc": {
                "chosen": round(_mean_pcc(theirs, share), 4),
                "lmm": round(_mean_pcc(theirs, 1.0), 4),
                "readout": round(_mean_pcc(theirs, 0.0), 4),
            },
        }
    return out
