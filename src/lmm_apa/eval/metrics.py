"""PCC, SCC and RMSE per granularity and aspect, with speaker-bootstrap intervals and SCC caps.

Pairing rule (how a prediction meets its label):
- utterances by ``utt_id``; a labelled utterance with no prediction counts as missing, and so do
  all its words and phones;
- words by position in reference order; when the prediction has a different number of words, the
  first ``min(n_label, n_pred)`` are paired and the remaining label words (with their phones) count
  as missing, extra predicted words as extra. Word texts are not required to match (a model may
  spell differently); mismatches are counted under ``mismatched_words``;
- phones by position inside a paired word, by the same rule;
- a field (e.g. word stress) that the prediction leaves out, or that the label lacks, is skipped
  for that item: a missing prediction counts under ``missing.fields``.

Predictions are used as they are, never clipped: each granularity/aspect also reports
``outside_scale``, how many of its paired predictions lay below or above the corpus scale
(`lmm_apa.data.records.SCALES`), e.g. a phone accuracy of 2.05.

Resampling for intervals is by speaker (cluster bootstrap): a score's error is correlated within a
speaker (same voice, same proficiency), so resampling items would make the intervals too narrow.
Utterances without a speaker are their own cluster.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import stats

from lmm_apa.data.records import ASPECTS, SCALES, Utterance

MIN_PAIRS = 3


@dataclass
class Pairs:
    """Paired (label, prediction) values of one granularity/aspect, with each item's speaker."""

    labels: list[float] = field(default_factory=list)
    preds: list[float] = field(default_factory=list)
    clusters: list[str] = field(default_factory=list)

    def add(self, label: float, pred: float, cluster: str) -> None:
        self.labels.append(label)
        self.preds.append(pred)
        self.clusters.append(cluster)


def _field_key(granularity: str, aspect: str) -> str:
    return f"{granularity}.{aspect}"


def pair_scores(
    labels: Sequence[Utterance], preds: Mapping[str, Utterance]
) -> tuple[dict[tuple[str, str], Pairs], dict[str, Any]]:
    """Pair predictions with labels (rule in the module docstring).

    Returns the pairs per ``(granularity, aspect)`` and the bookkeeping of what did not pair:
    ``{"missing": {"utterances", "words", "phones", "fields": {"word.stress": k, ...}},
    "extra": {"utterances", "words", "phones"}, "mismatched_words"}``.
    """
    pairs = {(g, a): Pairs() for g, aspects in ASPECTS.items() for a in aspects}
    missing_fields = {_field_key(g, a): 0 for g, a in pairs}
    missing = {"utterances": 0, "words": 0, "phones": 0}
    extra = {"utterances": 0, "words": 0, "phones": 0}
    mismatched = 0

    def pair_item(granularity: str, label_obj: Any, pred_obj: Any, cluster: str) -> None:
        for aspect in ASPECTS[granularity]:
            y = getattr(label_obj, aspect)
            if y is None:
                continue
            p = None if pred_obj is None else getattr(pred_obj, aspect)
            if p is None:
                missing_fields[_field_key(granularity, aspect)] += 1
            else:
                pairs[(granularity, aspect)].add(float(y), float(p), cluster)

    def by_position(kind: str, items: Sequence[Any], predicted: Sequence[Any]) -> Iterator[tuple[Any, Any]]:
        """Each label item with the prediction at its position (None past the predicted ones),
        counting the missing ones as it goes and the extra predictions once all are paired."""
        for i, item in enumerate(items):
            match = predicted[i] if i < len(predicted) else None
            if match is None:
                missing[kind] += 1
            yield item, match
        extra[kind] += max(0, len(predicted) - len(items))

    label_ids = {u.utt_id for u in labels}
    extra["utterances"] = sum(1 for uid in preds if uid not in label_ids)

    for utt in labels:
        cluster = utt.speaker if utt.speaker is not None else f"utt:{utt.utt_id}"
        pred = preds.get(utt.utt_id)
        if pred is None:
            missing["utterances"] += 1
        pair_item("sentence", utt, pred, cluster)
        for word, pword in by_position("words", utt.words, pred.words if pred is not None else []):
            if pword is not None and pword.text.strip().upper() != word.text.strip().upper():
                mismatched += 1
            pair_item("word", word, pword, cluster)
            pred_phones = pword.phones if pword is not None else []
            for phone, pphone in by_position("phones", word.phones, pred_phones):
                pair_item("phone", phone, pphone, cluster)

    bookkeeping = {
        "missing": {**missing, "fields": missing_fields},
        "extra": extra,
        "mismatched_words": mismatched,
    }
    return pairs, bookkeeping


def scc_cap(labels: np.ndarray) -> float | None:
    """The highest SCC a tie-free predictor can reach against these (tied) labels.

    A predictor with distinct scores at best orders items consistently with the labels; within a
    tie any order gives the same SCC, so the cap is the Pearson correlation of the labels' average
    ranks with their ordinal (tie-broken) ranks. A predictor that reproduces the ties can exceed
    it (up to 1), so ``scc / scc_cap`` may pass 1 for integer-valued predictions.
    """
    y = np.asarray(labels, dtype=float)
    if len(y) < MIN_PAIRS or np.ptp(y) == 0:
        return None
    avg = stats.rankdata(y, method="average")
    ordinal = stats.rankdata(y, method="ordinal")
    return float(stats.pearsonr(avg, ordinal)[0])


def _weighted_pearson_rows(a: np.ndarray, b: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Row-wise Pearson r of ``a`` and ``b`` under integer weights ``w`` (all shape (B, n)).

    A weight is how often the bootstrap drew the item's speaker, so weighting equals replicating.
    """
    total = w.sum(axis=1, keepdims=True)
    da = a - (w * a).sum(axis=1, keepdims=True) / total
    db = b - (w * b).sum(axis=1, keepdims=True) / total
    cov = (w * da * db).sum(axis=1)
    va = (w * da * da).sum(axis=1)
    vb = (w * db * db).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = cov / np.sqrt(va * vb)
    # A resample where one side is constant has no correlation; it is left out of the interval.
    # "Constant" is relative: rounding leaves ~1e-30 of the raw second moment after centring.
    flat_a = va <= 1e-12 * (w * a * a).sum(axis=1)
    flat_b = vb <= 1e-12 * (w * b * b).sum(axis=1)
    r[flat_a | flat_b] = np.nan
    return r


class _TieGroups:
    """Groups of equal values of one variable, so weighted average ranks are cheap per resample."""

    def __init__(self, values: np.ndarray) -> None:
        self.order = np.argsort(values, kind="stable")
        sorted_vals = values[self.order]
        new_group = np.r_[True, sorted_vals[1:] != sorted_vals[:-1]]
        self.starts = np.flatnonzero(new_group)
        self.group = np.empty(len(values), dtype=np.intp)
        self.group[self.order] = np.cumsum(new_group) - 1

    def ranks(self, weights: np.ndarray) -> np.ndarray:
        """Average ranks each item gets when item i appears ``weights[:, i]`` times, per row."""
        per_group = np.add.reduceat(weights[:, self.order], self.starts, axis=1)
        below = np.cumsum(per_group, axis=1) - per_group
        return (below + (per_group + 1) / 2)[:, self.group]


def bootstrap_stats(
    labels: np.ndarray, preds: np.ndarray, clusters: np.ndarray, counts: np.ndarray, chunk: int = 32
) -> tuple[np.ndarray, np.ndarray]:
    """PCC and SCC of each resample, given how often each cluster was drawn.

    ``clusters`` holds integer cluster codes 0..K-1 per item; ``counts`` is (B, K). Each resample is
    the union of the drawn clusters' items (repeated as drawn), computed without materialising it.
    """
    y = np.asarray(labels, dtype=float)
    p = np.asarray(preds, dtype=float)
    ty, tp = _TieGroups(y), _TieGroups(p)
    pcc = np.empty(len(counts))
    scc = np.empty(len(counts))
    for start in range(0, len(counts), chunk):
        w = counts[start : start + chunk][:, clusters].astype(float)
        pcc[start : start + chunk] = _weighted_pearson_rows(
            np.broadcast_to(y, w.shape), np.broadcast_to(p, w.shape), w
        )
        scc[start : start + chunk] = _weighted_pearson_rows(ty.ranks(w), tp.ranks(w), w)
    return pcc, scc


def speaker_bootstrap_ci(
    labels: np.ndarray,
    preds: np.ndarray,
    clusters: Sequence[str],
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[list[float] | None, list[float] | None]:
    """Percentile intervals for PCC and SCC, resampling speakers with replacement."""
    codes, inverse = np.unique(np.asarray(clusters), return_inverse=True)
    k = len(codes)
    if k < 2 or n_boot < 1:
        return None, None
    rng = np.random.default_rng(seed)
    # Drawing k speakers with replacement == a multinomial count per speaker.
    counts = rng.multinomial(k, np.full(k, 1.0 / k), size=n_boot)
    pcc, scc = bootstrap_stats(labels, preds, inverse, counts)
    tail = 100 * (1 - level) / 2

    def interval(values: np.ndarray) -> list[float] | None:
        if np.all(np.isnan(values)):
            return None
        lo, hi = np.nanpercentile(values, [tail, 100 - tail])
        return [float(lo), float(hi)]

    return interval(pcc), interval(scc)


def aspect_metrics(pairs: Pairs, n_boot: int = 1000, seed: int = 0) -> dict[str, Any]:
    """PCC, SCC, RMSE, their intervals and the SCC cap of one granularity/aspect.

    Correlations are ``None`` with a ``reason`` when undefined (too few pairs, constant side).
    """
    y = np.asarray(pairs.labels, dtype=float)
    p = np.asarray(pairs.preds, dtype=float)
    n = len(y)
    out: dict[str, Any] = {
        "n": n,
        "pcc": None,
        "scc": None,
        "rmse": float(np.sqrt(np.mean((y - p) ** 2))) if n else None,
        "pcc_ci": None,
        "scc_ci": None,
        "scc_cap": None,
        "scc_of_cap": None,
    }
    if n == 0:
        out["reason"] = "no predictions"
    elif n < MIN_PAIRS:
        out["reason"] = f"fewer than {MIN_PAIRS} pairs"
    elif np.ptp(y) == 0:
        out["reason"] = "labels are constant"
    elif np.ptp(p) == 0:
        out["reason"] = "predictions are constant"
        out["scc_cap"] = scc_cap(y)
    if "reason" in out:
        return out
    out["pcc"] = float(stats.pearsonr(y, p)[0])
    out["scc"] = float(stats.spearmanr(y, p)[0])
    out["pcc_ci"], out["scc_ci"] = speaker_bootstrap_ci(y, p, pairs.clusters, n_boot=n_boot, seed=seed)
    cap = scc_cap(y)
    out["scc_cap"] = cap
    out["scc_of_cap"] = out["scc"] / cap if cap else None
    return out


def outside_scale(preds: Sequence[float], lo: float, hi: float) -> dict[str, int]:
    """How many predictions lay below ``lo`` and above ``hi`` (counted, not clipped)."""
    p = np.asarray(preds, dtype=float)
    return {"below": int(np.sum(p < lo)), "above": int(np.sum(p > hi))}


def compute_metrics(
    labels: Sequence[Utterance], preds: Mapping[str, Utterance], n_boot: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """Every granularity/aspect's metrics plus the pairing bookkeeping, as one JSON-able dict."""
    pairs, bookkeeping = pair_scores(labels, preds)
    out: dict[str, Any] = {g: {} for g in ASPECTS}
    for (granularity, aspect), pair in pairs.items():
        out[granularity][aspect] = aspect_metrics(pair, n_boot=n_boot, seed=seed)
        out[granularity][aspect]["outside_scale"] = outside_scale(pair.preds, *SCALES[(granularity, aspect)])
    out["n_utterances"] = len(labels)
    out["n_predicted_utterances"] = len(labels) - bookkeeping["missing"]["utterances"]
    out.update(bookkeeping)
    return out
