import numpy as np

from lmm_apa.align.evidence import OMITTED_STATS, PHONE_SCALARS, rival_phone, segment_stats
from lmm_apa.align.phoneset import BLANK, N_CLASSES, PHONES, phone_id


def _logp(frames: list[dict[int, float]]) -> np.ndarray:
    """Log posteriors, each frame its given class probabilities with the rest spread evenly."""
    rows = []
    for probs in frames:
        rest = (1.0 - sum(probs.values())) / (N_CLASSES - len(probs))
        row = np.full(N_CLASSES, rest)
        for k, v in probs.items():
            row[k] = v
        rows.append(row)
    return np.log(np.array(rows))


def test_a_clear_phone_has_a_large_share_and_a_positive_gop():
    aa, ae = phone_id("AA"), phone_id("AE")
    logp = _logp([{BLANK: 0.9}, {aa: 0.8, ae: 0.1}, {aa: 0.9}, {BLANK: 0.9}])
    stats = segment_stats(logp, slice(0, 4), slice(1, 3), aa)
    assert set(PHONE_SCALARS) - {"omitted"} <= set(stats)
    assert stats["share"].shape == (39,)
    assert abs(stats["share"].sum() - 1.0) < 1e-4
    assert stats["share"].argmax() == aa - 1
    assert stats["gop"] > 1.0
    assert stats["log_frames"] == np.log(4)
    assert stats["path_frames"] == 2.0
    assert 0.4 < stats["blank"] < 0.5  # two of four frames mostly blank
    assert stats["lp_max"] == np.log(0.9)


def test_a_phone_heard_as_another_has_a_negative_gop_and_names_the_rival():
    aa, ae = phone_id("AA"), phone_id("AE")
    logp = _logp([{ae: 0.8, aa: 0.1}, {ae: 0.9}])
    stats = segment_stats(logp, slice(0, 2), slice(0, 2), aa)
    assert stats["gop"] < -1.0
    assert stats["lp_path"] < np.log(0.2)
    assert rival_phone(stats["share"], aa) == "AE"
    # the canonical phone is never its own rival
    assert rival_phone(stats["share"], ae) != "AE"


def test_omitted_stats_are_as_unlike_a_heard_phone_as_possible():
    assert set(OMITTED_STATS) == set(PHONE_SCALARS) - {"omitted"}
    assert OMITTED_STATS["blank"] == 1.0
    assert OMITTED_STATS["gop"] < -10
    assert PHONES[0] == "AA"
