"""Direct Preference Optimization loss from per-token log-probabilities (reference solution).

DPO, Rafailov et al., NeurIPS 2023: https://arxiv.org/abs/2305.18290
Conservative DPO (label smoothing): Mitchell, "A note on DPO with noisy preferences", 2023.
IPO, Azar et al., AISTATS 2024: https://arxiv.org/abs/2310.12036

Per pair b, with sums over response tokens only (mask True):
    pi_logratios  = log pi(y_w | x) - log pi(y_l | x)
    ref_logratios = log pi_ref(y_w | x) - log pi_ref(y_l | x)
    h = pi_logratios - ref_logratios
    sigmoid: loss_b = -(1 - eps) * log sigmoid(beta * h) - eps * log sigmoid(-beta * h)
    ipo:     loss_b = (h - 1 / (2 * beta)) ** 2
loss = mean over b; rewards = beta * (log pi - log pi_ref) per side, detached.
"""

import math

import torch
import torch.nn.functional as F
from torch import Tensor

LOSS_TYPES = ("sigmoid", "ipo")


def _is_number(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)  # a bool is not a number here


def _check_inputs(
    logps: list[Tensor], masks: list[Tensor], beta: float, label_smoothing: float, loss_type: str
) -> None:
    if not _is_number(beta) or not (math.isfinite(beta) and beta > 0):
        raise ValueError(f"beta must be a finite number > 0, got {beta!r}")
    if loss_type not in LOSS_TYPES:
        raise ValueError(f"loss_type must be one of {LOSS_TYPES}, got {loss_type!r}")
    if not _is_number(label_smoothing) or not 0.0 <= label_smoothing <= 0.5:
        raise ValueError(f"label_smoothing must be in [0, 0.5], got {label_smoothing!r}")
    if loss_type == "ipo" and label_smoothing != 0:
        raise ValueError(f"label_smoothing applies to loss_type='sigmoid' only, got {label_smoothing!r} with 'ipo'")
    shapes = [tuple(t.shape) for t in logps + masks]
    if logps[0].dim() != 2 or len(set(shapes)) != 1 or 0 in shapes[0]:
        raise ValueError(f"the six inputs must share one (B, T) shape with B, T >= 1, got {shapes}")
    dtypes = {t.dtype for t in logps}
    if len(dtypes) != 1 or not logps[0].is_floating_point():
        raise ValueError(
            f"the four log-probability tensors must share one floating dtype, got {sorted(map(str, dtypes))}"
        )
    if any(m.dtype != torch.bool for m in masks):
        raise ValueError(f"chosen_mask and rejected_mask must be bool, got {masks[0].dtype} and {masks[1].dtype}")
    if not (masks[0].any(dim=1).all() and masks[1].any(dim=1).all()):
        raise ValueError("every row of chosen_mask and rejected_mask needs at least one response token")


def _sequence_logp(logps: Tensor, mask: Tensor, compute_dtype: torch.dtype) -> Tensor:
    """Sum of log-probabilities over response tokens; padding may hold -inf or NaN."""
    zero = torch.zeros((), dtype=compute_dtype)
    return torch.where(mask, logps.to(compute_dtype), zero).sum(dim=1)  # (B,)


def dpo_loss(
    policy_chosen_logps: Tensor,
    policy_rejected_logps: Tensor,
    ref_chosen_logps: Tensor,
    ref_rejected_logps: Tensor,
    chosen_mask: Tensor,
    rejected_mask: Tensor,
    *,
    beta: float,
    label_smoothing: float = 0.0,
    loss_type: str = "sigmoid",
) -> tuple[Tensor, Tensor, Tensor]:
    """(loss, chosen_rewards, rejected_rewards): a 0-d loss and two (B,) detached rewards."""
    logps = [policy_chosen_logps, policy_rejected_logps, ref_chosen_logps, ref_rejected_logps]
    _check_inputs(logps, [chosen_mask, rejected_mask], beta, label_smoothing, loss_type)
    dtype = policy_chosen_logps.dtype
    compute_dtype = torch.promote_types(dtype, torch.float32)  # fp32 sums for half inputs

    pi_chosen = _sequence_logp(policy_chosen_logps, chosen_mask, compute_dtype)  # (B,)
    pi_rejected = _sequence_logp(policy_rejected_logps, rejected_mask, compute_dtype)  # (B,)
    # the reference model is frozen: no gradient reaches it, even if its log-probs require grad
    ref_chosen = _sequence_logp(ref_chosen_logps.detach(), chosen_mask, compute_dtype)  # (B,)
    ref_rejected = _sequence_logp(ref_rejected_logps.detach(), rejected_mask, compute_dtype)  # (B,)

    # h = (log pi_w - log pi_l) - (log ref_w - log ref_l)
    h = (pi_chosen - pi_rejected) - (ref_chosen - ref_rejected)  # (B,)
    if loss_type == "sigmoid":
        # logsigmoid is the stable log(sigmoid(z)): no overflow at |beta * h| ~ 1e4
        losses = -(1 - label_smoothing) * F.logsigmoid(beta * h) - label_smoothing * F.logsigmoid(-beta * h)
    else:
        losses = (h - 1 / (2 * beta)) ** 2
    loss = losses.mean()

    chosen_rewards = (beta * (pi_chosen - ref_chosen)).detach()  # (B,)
    rejected_rewards = (beta * (pi_rejected - ref_rejected)).detach()  # (B,)
    return loss.to(dtype), chosen_rewards.to(dtype), rejected_rewards.to(dtype)
