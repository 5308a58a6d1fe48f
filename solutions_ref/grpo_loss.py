"""GRPO: group-relative advantages and the clipped surrogate loss with a k3 KL penalty (reference).

DeepSeekMath, Shao et al., 2024: https://arxiv.org/abs/2402.03300 (section 4.1, eqs. 3 and 4)
k3 estimator of KL: Schulman, "Approximating KL divergence", 2020.

Advantages, per group of G = group_size completions of one prompt:
    A_i = (r_i - mean(r)) / (std(r) + eps), std the sample std (divisor G - 1); 0 where std = 0
Loss per token t of completion i (mask True):
    ratio = exp(logp - old_logp)
    surrogate = min(ratio * A_i, clip(ratio, 1 - clip_eps, 1 + clip_eps) * A_i)
    kl = r - log r - 1 with r = pi_ref / pi_theta = exp(ref_logp - logp)      (k3, >= 0)
    loss_t = -(surrogate - kl_beta * kl)
aggregation "sequence": mean over each completion's tokens, then over completions (eq. 3);
aggregation "token": one mean over every response token of the batch.
"""

import math

import torch
from torch import Tensor

AGGREGATIONS = ("token", "sequence")


def _is_real(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)  # a bool is not a number


def group_advantages(rewards: Tensor, group_size: int, *, normalize_std: bool = True, eps: float = 1e-4) -> Tensor:
    """(B,) rewards, B = groups * group_size with each group contiguous -> (B,) advantages."""
    if rewards.dim() != 1 or not rewards.is_floating_point():
        raise ValueError(f"rewards must be a 1-D floating tensor, got {tuple(rewards.shape)} {rewards.dtype}")
    if not isinstance(group_size, int) or group_size < 2 or rewards.numel() % group_size != 0:
        raise ValueError(f"group_size must be an int >= 2 dividing B = {rewards.numel()}, got {group_size!r}")
    if not _is_real(eps) or eps < 0:
        raise ValueError(f"eps must be a finite number >= 0, got {eps!r}")
    compute_dtype = torch.promote_types(rewards.dtype, torch.float32)  # fp32 statistics for half rewards
    r = rewards.to(compute_dtype).reshape(-1, group_size)  # (groups, G)
    centered = r - r.mean(dim=1, keepdim=True)  # (groups, G)
    if normalize_std:
        std = r.std(dim=1, correction=1, keepdim=True)  # (groups, 1), sample std
        centered = torch.where(std > 0, centered / (std + eps), torch.zeros((), dtype=compute_dtype))
    return centered.reshape(-1).to(rewards.dtype)  # (B,)


def _check_loss_inputs(tensors: list[Tensor], advantages: Tensor, mask: Tensor, clip_eps, kl_beta, aggregation) -> None:
    if not _is_real(clip_eps) or clip_eps < 0:
        raise ValueError(f"clip_eps must be a finite number >= 0, got {clip_eps!r}")
    if not _is_real(kl_beta) or kl_beta < 0:
        raise ValueError(f"kl_beta must be a finite number >= 0, got {kl_beta!r}")
    if aggregation not in AGGREGATIONS:
        raise ValueError(f"aggregation must be one of {AGGREGATIONS}, got {aggregation!r}")
    shapes = [tuple(t.shape) for t in tensors + [mask]]
    if tensors[0].dim() != 2 or len(set(shapes)) != 1 or 0 in shapes[0]:
        raise ValueError(f"logp, old_logp, ref_logp and mask must share one (B, T) shape, B, T >= 1, got {shapes}")
    if tuple(advantages.shape) != shapes[0][:1]:
        raise ValueError(f"advantages must have shape (B,) = {shapes[0][:1]}, got {tuple(advantages.shape)}")
    dtypes = {t.dtype for t in tensors + [advantages]}
    if len(dtypes) != 1 or not advantages.is_floating_point():
        raise ValueError(f"logp, old_logp, ref_logp and advantages must share one floating dtype, got {dtypes}")
    if mask.dtype != torch.bool:
        raise ValueError(f"mask must be bool, got {mask.dtype}")
    if not mask.any(dim=1).all():
        raise ValueError("every row of mask needs at least one response token")


def grpo_loss(
    logp: Tensor,
    old_logp: Tensor,
    ref_logp: Tensor,
    advantages: Tensor,
    mask: Tensor,
    *,
    clip_eps: float,
    kl_beta: float,
    aggregation: str = "token",
) -> Tensor:
    """0-d GRPO loss from (B, T) log-probs, (B,) advantages and a (B, T) bool response mask."""
    _check_loss_inputs([logp, old_logp, ref_logp], advantages, mask, clip_eps, kl_beta, aggregation)
    dtype = logp.dtype
    compute_dtype = torch.promote_types(dtype, torch.float32)  # fp32 for half inputs
    zero = torch.zeros((), dtype=compute_dtype)
    # padded positions may hold -inf / NaN: replace them before exp so no NaN reaches the gradient
    # old_logp, ref_logp and advantages are constants: detached, even if one of them is logp itself
    logp_c = torch.where(mask, logp.to(compute_dtype), zero)  # (B, T)
    old_c = torch.where(mask, old_logp.detach().to(compute_dtype), zero)  # (B, T)
    ref_c = torch.where(mask, ref_logp.detach().to(compute_dtype), zero)  # (B, T)
    A = advantages.detach().to(compute_dtype)[:, None]  # (B, 1)

    ratio = torch.exp(logp_c - old_c)  # (B, T) pi_theta / pi_old
    surrogate = torch.minimum(ratio * A, torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps) * A)  # (B, T)
    log_r = ref_c - logp_c  # (B, T) log(pi_ref / pi_theta)
    kl = torch.exp(log_r) - log_r - 1  # (B, T) k3 estimator, >= 0
    per_token = torch.where(mask, -(surrogate - kl_beta * kl), zero)  # (B, T)

    if aggregation == "token":
        loss = per_token.sum() / mask.sum()
    else:
        loss = (per_token.sum(dim=1) / mask.sum(dim=1)).mean()
    return loss.to(dtype)
