"""Training losses: answer log-probs, SimPO, and SimPO + lambda * CE, as pure functions.

SimPO (Meng et al., 2024, arXiv 2405.14734) is reference-free: it compares the per-token AVERAGED
log-probabilities of the chosen and rejected answers and asks for a margin gamma between them:

    loss = -log sigmoid(beta * (avg_logp_chosen - avg_logp_rejected) - gamma)

This matches TRL's CPO trainer with ``loss_type="simpo"`` (``logits = pi_logratios - gamma / beta``,
``loss = -logsigmoid(beta * logits)``), including its optional label smoothing. The rewards are
``beta * avg_logp``, detached: they are logged, never trained on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from lmm_apa.train.config import LOSS_TYPES

IGNORE_INDEX = -100


def token_logps(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Log-prob of each label token under the logits one position earlier, and the label mask.

    ``logits`` (N, L, V), ``labels`` (N, L) with -100 where no loss is taken (prompt, audio, padding).
    Returns ``(logps, mask)``, both (N, L - 1); ``logps`` is 0 where ``mask`` is False.
    """
    return slot_logps(logits[:, :-1, :], labels[:, 1:])


def slot_logps(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """As ``token_logps`` for logits already read one position before each label: no shift.

    ``logits`` (N, K, V) and ``labels`` (N, K), row for row; returns ``(logps, mask)``, both (N, K).
    """
    mask = labels != IGNORE_INDEX
    # gather needs a valid index at ignored positions; they are zeroed just below.
    safe = labels.masked_fill(~mask, 0)
    logps = torch.gather(logits.float().log_softmax(-1), 2, safe.unsqueeze(-1)).squeeze(-1)
    return logps * mask, mask


def sequence_logps(logits: torch.Tensor, labels: torch.Tensor, average: bool = True) -> torch.Tensor:
    """Sum (or per-token mean, SimPO's length normalisation) of each row's answer log-probs: (N,)."""
    logps, mask = token_logps(logits, labels)
    total = logps.sum(-1)
    if not average:
        return total
    return total / mask.sum(-1).clamp(min=1)


def simpo_loss(
    chosen_logps: torch.Tensor,
    rejected_logps: torch.Tensor,
    beta: float,
    gamma: float,
    label_smoothing: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """SimPO loss per pair, elementwise over broadcastable per-token averaged log-probs.

    Returns ``(losses, chosen_rewards, rejected_rewards)``; rewards are ``beta * logps``, detached.
    With label smoothing eps (conservative SimPO, as TRL): ``(1-eps) * -logsigmoid(z) + eps *
    -logsigmoid(-z)`` where ``z = beta * (chosen - rejected) - gamma``.
    """
    pi_logratios = chosen_logps - rejected_logps
    logits = pi_logratios - gamma / beta
    losses = (
        -F.logsigmoid(beta * logits) * (1 - label_smoothing) - F.logsigmoid(-beta * logits) * label_smoothing
    )
    return losses, beta * chosen_logps.detach(), beta * rejected_logps.detach()


# Preference losses by name, each ``(chosen_logps, rejected_logps, beta, gamma, label_smoothing=0.0)
# -> (losses, chosen_rewards, rejected_rewards)`` as `simpo_loss`.
PREFERENCE_LOSSES: dict[str, Callable[..., tuple[torch.Tensor, torch.Tensor, torch.Tensor]]] = {
    "simpo": simpo_loss,
}


def preference_loss(
    loss_type: str, *args: Any, **kwargs: Any
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Dispatch on the preference loss type (only ``simpo`` has a preference term); the other
    arguments go to that loss (`simpo_loss`'s)."""
    if loss_type not in PREFERENCE_LOSSES:
        expected = " or ".join(repr(name) for name in PREFERENCE_LOSSES)
        raise ValueError(f"unknown preference loss type {loss_type!r}; expected {expected}")
    return PREFERENCE_LOSSES[loss_type](*args, **kwargs)


def objective(
    logps: torch.Tensor,
    mask: torch.Tensor,
    n_chosen: int,
    rejected_owner: torch.Tensor | None,
    loss_type: str = "simpo",
    beta: float = 2.0,
    gamma: float = 0.5,
    ce_weight: float = 1.0,
    label_smoothing: float = 0.0,
) -> tuple[torch.Tensor, dict[str, float]]:
    """The objective on one concatenated batch, from per-token answer log-probs and their mask, both
    (N, T) (`token_logps` for teacher-forced rows, `slot_logps` for filler rows): SimPO + ce_weight *
    CE, or CE alone.

    Rows ``[:n_chosen]`` are the chosen answers; rows ``[n_chosen:]`` are rejected ones, row ``j``
    belonging to chosen row ``rejected_owner[j]`` (several rejected answers per utterance). Each
    (chosen, rejected_k) pair is one SimPO term; terms are averaged over k, then over utterances.
    CE is the token-mean NLL of the chosen answers (TRL's ``nll_loss``).
    Returns the loss tensor and TRL-named metrics (floats).
    """
    if loss_type not in LOSS_TYPES:
        raise ValueError(f"unknown loss type {loss_type!r}; expected one of {LOSS_TYPES}")
    chosen_tok, chosen_mask = logps[:n_chosen], mask[:n_chosen]
    nll = -chosen_tok.sum() / chosen_mask.sum().clamp(min=1)
    avg = logps.sum(-1) / mask.sum(-1).clamp(min=1)
    chosen_logps = avg[:n_chosen]
    metrics = {"nll_loss": nll.item(), "logps/chosen": chosen_logps.detach().mean().item()}
    if loss_type == "ce":
        metrics["loss"] = nll.item()
        return nll, metrics

    if rejected_owner is None or rejected_owner.numel() == 0:
        raise ValueError("loss_type 'simpo' needs at least one rejected answer per utterance")
    rejected_logps = avg[n_chosen:]
    losses, chosen_rewards, rejected_rewards = preference_loss(
        loss_type, chosen_logps[rejected_owner], rejected_logps, beta, gamma, label_smoothing
    )
    # Mean over each utterance's k pairs, then over utterances, so every utterance weighs the same.
    per_utt = torch.zeros(n_chosen, dtype=losses.dtype, device=losses.device)
    per_utt = per_utt.index_add(0, rejected_owner, losses)
    counts = torch.bincount(rejected_owner, minlength=n_chosen).clamp(min=1).to(losses.dtype)
    pref = (per_utt / counts).mean()
    loss = pref + ce_weight * nll
    margins = chosen_rewards - rejected_rewards
    metrics.update(
        {
            "loss": loss.item(),
            "simpo_loss": pref.item(),
            "rewards/chosen": (beta * chosen_logps.detach()).mean().item(),
            "rewards/rejected": rejected_rewards.mean().item(),
            "rewards/margins": margins.mean().item(),
            "rewards/accuracies": (margins > 0).float().mean().item(),
            "logps/rejected": rejected_logps.detach().mean().item(),
        }
    )
    return loss, metrics
