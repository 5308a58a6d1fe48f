"""Float64 oracle for grpo-loss (checker side): advantages, the loss and its gradient in closed form."""

import math

import torch
from torch import Tensor


def advantages_oracle(rewards: Tensor, group_size: int, normalize_std: bool = True, eps: float = 1e-4) -> Tensor:
    out = []
    r = rewards.double().tolist()
    for start in range(0, len(r), group_size):
        group = r[start : start + group_size]
        mean = sum(group) / group_size
        std = math.sqrt(sum((x - mean) ** 2 for x in group) / (group_size - 1))
        for x in group:
            if not normalize_std:
                out.append(x - mean)
            else:
                out.append(0.0 if std == 0 else (x - mean) / (std + eps))
    return torch.tensor(out, dtype=torch.float64)


def loss_oracle(logp, old_logp, ref_logp, advantages, mask, clip_eps, kl_beta, aggregation="token"):
    """(loss, d loss / d logp) in float64; padded positions contribute nothing, whatever they hold."""
    B, T = logp.shape
    lp = torch.where(mask, logp.double(), 0.0)
    old = torch.where(mask, old_logp.double(), 0.0)
    ref = torch.where(mask, ref_logp.double(), 0.0)
    A = advantages.double()[:, None].expand(B, T)
    ratio = torch.exp(lp - old)
    clipped = ratio.clamp(1 - clip_eps, 1 + clip_eps)
    unclipped_is_min = ratio * A <= clipped * A
    surrogate = torch.where(unclipped_is_min, ratio * A, clipped * A)
    # d surrogate / d logp: ratio * A where the unclipped term is the min (it is when both are
    # equal too), else 0 (the clipped term is constant in logp outside the band)
    d_surrogate = torch.where(unclipped_is_min, ratio * A, 0.0)
    rk = torch.exp(ref - lp)  # pi_ref / pi_theta
    kl = rk - (ref - lp) - 1
    d_kl = -rk + 1
    per_token = -(surrogate - kl_beta * kl)
    d_per_token = -(d_surrogate - kl_beta * d_kl)
    n = mask.sum(dim=1, keepdim=True).double()  # (B, 1)
    if aggregation == "token":
        weight = mask.double() / float(mask.sum())
    else:
        weight = mask.double() / (n * B)
    loss = (torch.where(mask, per_token, 0.0) * weight).sum()
    return loss, torch.where(mask, d_per_token * weight, 0.0)


def random_case(B: int, T: int, dtype: torch.dtype, seed: int, spread: float = 0.3):
    """logp near old_logp (ratios inside and outside the clip band), left prompt, right padding with NaN."""
    g = torch.Generator().manual_seed(seed)
    old = -torch.rand(B, T, generator=g, dtype=torch.float64) * 3
    logp = old + spread * torch.randn(B, T, generator=g, dtype=torch.float64)
    ref = old + 0.5 * torch.randn(B, T, generator=g, dtype=torch.float64)
    adv = torch.randn(B, generator=g, dtype=torch.float64)
    mask = torch.zeros(B, T, dtype=torch.bool)
    for b in range(B):
        start = int(torch.randint(0, T, (1,), generator=g))
        stop = int(torch.randint(start + 1, T + 1, (1,), generator=g))
        mask[b, start:stop] = True
    tensors = [logp.to(dtype), old.to(dtype), ref.to(dtype)]
    for t in tensors:
        t[~mask] = math.nan
    return tensors, adv.to(dtype), mask
