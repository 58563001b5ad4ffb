"""A ranking term over the slots' expected scores (``train.rank_weight``), for Spearman's correlation.

CE and SimPO train each slot's distribution on its own: nothing in them asks that a word the raters
scored 9 be read above a word they scored 7 by the one-pass readout, which is the slots' expected
score (`lmm_apa.infer.onepass`). SCC measures that order, and the paper found it well below PCC.
This term is RankNet's pairwise logistic loss (Burges et al., 2005) on those expected scores:

    for slots i, j of one kind (same granularity and aspect) with gold_i > gold_j:
        softplus(-scale * (s_i - s_j))            s = expected slot units, 0-10

over every such pair in the micro-batch: within an utterance (its words, its phones) and, when a
micro-batch holds several utterances, across them (the only pairs a sentence aspect has). Ties are
ignored (most word and phone labels sit at the top: a tie says nothing about order). Pairs are
averaged per kind, then over the kinds that have any, so the many phone pairs do not drown the
few word or sentence ones. Filler training only: it reads the logits at the slots, which exist
there alone.
"""

from __future__ import annotations

import functools
from typing import Any

import torch
import torch.nn.functional as F

from lmm_apa.tasks.answer import slot_token_ids


@functools.lru_cache(maxsize=4)
def symbol_ids(tokenizer: Any) -> torch.Tensor:
    """The 11 slot symbols' token ids, in unit order (cached: every micro-batch needs them)."""
    return torch.tensor(slot_token_ids(tokenizer), dtype=torch.long)


def expected_units(slot_logits: torch.Tensor, symbols: torch.Tensor) -> torch.Tensor:
    """(..., V) logits at slots -> (...) expected units: the softmax over the symbols only, as the
    one-pass readout takes it, against 0..10."""
    probs = slot_logits[..., symbols.to(slot_logits.device)].float().softmax(-1)
    return probs @ torch.arange(len(symbols), dtype=probs.dtype, device=probs.device)


def gold_units(labels: torch.Tensor, symbols: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Label token ids (any shape, -100 or a non-symbol where there is none) -> (units, valid)."""
    match = labels.unsqueeze(-1) == symbols.to(labels.device)
    return match.float().argmax(-1), match.any(-1)


def pairwise_rank_loss(
    scores: torch.Tensor, gold: torch.Tensor, kinds: torch.Tensor, scale: float = 1.0
) -> tuple[torch.Tensor, dict[str, float]]:
    """RankNet loss over the pairs of same-kind slots whose gold differs (module docstring).

    ``scores`` (float, carries the gradient), ``gold`` and ``kinds`` (ints, -1: no slot) share one
    shape; every entry is a slot, and any two of one kind form a pair. Returns the loss (a zero that
    keeps the graph when there is no pair) and ``rank_pairs`` / ``rank_accuracy`` (share of pairs in
    the right order) for logging.
    """
    s, g, k = scores.reshape(-1), gold.reshape(-1), kinds.reshape(-1)
    terms, n_pairs, n_right = [], 0, 0
    for kind in k[k >= 0].unique():
        idx = (k == kind).nonzero().squeeze(-1)
        higher = g[idx, None] > g[None, idx]  # pair (a, b): a scored above b by the raters
        if not higher.any():
            continue
        diff = (s[idx, None] - s[None, idx])[higher]
        terms.append(F.softplus(-scale * diff).mean())
        n_pairs += int(higher.sum())
        n_right += int((diff.detach() > 0).sum())
    if not terms:
        return scores.sum() * 0.0, {"rank_pairs": 0.0, "rank_accuracy": 0.0}
    metrics = {"rank_pairs": float(n_pairs), "rank_accuracy": n_right / n_pairs}
    return torch.stack(terms).mean(), metrics


def rank_term(logits: torch.Tensor, batch: Any, tokenizer: Any, scale: float) -> tuple[torch.Tensor, dict]:
    """The ranking term of a filler batch: ``logits`` (B, K, V) at its input rows' slots; the chosen
    label rows (the first ``n_chosen``) give the gold units, ``batch.slot_kinds`` the kinds."""
    if batch.slot_kinds is None or batch.positions is None:
        raise ValueError("the ranking term needs filler batches with slot kinds (collate_slots)")
    symbols = symbol_ids(tokenizer)
    chosen = batch.labels[: batch.n_chosen]
    gold, valid = gold_units(chosen, symbols)
    kinds = batch.slot_kinds[batch.label_source[: batch.n_chosen]].masked_fill(~valid, -1)
    scores = expected_units(logits[batch.label_source[: batch.n_chosen]], symbols)
    loss, metrics = pairwise_rank_loss(scores, gold, kinds, scale)
    return loss, {"rank_loss": loss.item(), **metrics}
