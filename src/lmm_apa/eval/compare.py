"""Is system B better than system A on the same recordings? The paired speaker bootstrap.

Two intervals that overlap do not say two systems are alike: their errors are correlated (same
recordings, same speakers), so the difference is known better than either value. Here both
systems' PCC and SCC are computed on the same resampled speakers, and the interval is that of the
difference (GOPT-style tables leave this out).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from lmm_apa.data.records import Utterance
from lmm_apa.eval.metrics import bootstrap_stats, pair_scores


def paired_differences(
    labels: Sequence[Utterance],
    preds_a: Mapping[str, Utterance],
    preds_b: Mapping[str, Utterance],
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, dict[str, dict[str, Any]]]:
    """Per granularity and aspect, B minus A: ``{"pcc": d, "pcc_ci": [lo, hi], "scc": ..., "n": n}``.

    Only aspects where both systems scored exactly the same items are compared (else left out):
    the difference of two correlations over different items is not a paired one.
    """
    pairs_a, _ = pair_scores(labels, preds_a)
    pairs_b, _ = pair_scores(labels, preds_b)
    tail = 100 * (1 - level) / 2
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for (g, aspect), a in pairs_a.items():
        b = pairs_b[(g, aspect)]
        y = np.asarray(a.labels, dtype=float)
        if len(y) < 3 or a.labels != b.labels or a.clusters != b.clusters or np.ptp(y) == 0:
            continue
        codes, inverse = np.unique(np.asarray(a.clusters), return_inverse=True)
        rng = np.random.default_rng(seed)
        # the same drawn speakers for both systems: that is what makes the bootstrap paired
        counts = np.vstack(
            [
                np.ones(len(codes), dtype=int),
                rng.multinomial(len(codes), [1 / len(codes)] * len(codes), size=n_boot),
            ]
        )
        pcc_a, scc_a = bootstrap_stats(y, np.asarray(a.preds), inverse, counts)
        pcc_b, scc_b = bootstrap_stats(y, np.asarray(b.preds), inverse, counts)
        row: dict[str, Any] = {"n": len(y)}
        for name, d in (("pcc", pcc_b - pcc_a), ("scc", scc_b - scc_a)):
            point, draws = d[0], d[1:]  # row 0 counts every speaker once: the full sample
            ok = not np.isnan(point) and not np.all(np.isnan(draws))
            row[name] = float(point) if ok else None
            row[f"{name}_ci"] = (
                [float(x) for x in np.nanpercentile(draws, [tail, 100 - tail])] if ok else None
            )
        out.setdefault(g, {})[aspect] = row
    return out
