"""Float64 oracle for dpo-loss (checker side): loss, rewards and the gradients in closed form."""

import math
from typing import NamedTuple

import torch
from torch import Tensor


class Expected(NamedTuple):
    loss: Tensor  # 0-d float64
    chosen_rewards: Tensor  # (B,)
    rejected_rewards: Tensor  # (B,)
    grad_policy_chosen: Tensor  # (B, T)
    grad_policy_rejected: Tensor  # (B, T)


def _log_sigmoid(z: Tensor) -> Tensor:
    # log sigmoid(z) = min(z, 0) - log1p(exp(-|z|)), exact for any finite z
    return torch.minimum(z, torch.zeros_like(z)) - torch.log1p(torch.exp(-z.abs()))


def _sigmoid(z: Tensor) -> Tensor:
    return torch.exp(_log_sigmoid(z))


def dpo_oracle(pc, pr, rc, rr, mc, mr, beta, label_smoothing=0.0, loss_type="sigmoid") -> Expected:
    """Everything in float64; padded positions (mask False) contribute nothing, whatever they hold."""
    f = lambda t, m: torch.where(m, t.double(), torch.zeros((), dtype=torch.float64)).sum(dim=1)  # noqa: E731
    pi_c, pi_r, ref_c, ref_r = f(pc, mc), f(pr, mr), f(rc, mc), f(rr, mr)
    h = (pi_c - pi_r) - (ref_c - ref_r)  # (B,)
    B = h.numel()
    if loss_type == "sigmoid":
        z = beta * h
        eps = label_smoothing
        losses = -(1 - eps) * _log_sigmoid(z) - eps * _log_sigmoid(-z)
        dloss_dh = beta * (-(1 - eps) * _sigmoid(-z) + eps * _sigmoid(z)) / B
    else:
        losses = (h - 1 / (2 * beta)) ** 2
        dloss_dh = 2 * (h - 1 / (2 * beta)) / B
    grad_c = torch.where(mc, dloss_dh[:, None], 0.0).double()
    grad_r = torch.where(mr, -dloss_dh[:, None], 0.0).double()
    return Expected(losses.mean(), beta * (pi_c - ref_c), beta * (pi_r - ref_r), grad_c, grad_r)


def random_case(B: int, T: int, dtype: torch.dtype, seed: int, scale: float = 1.0):
    """Log-probabilities in (-inf, 0), a prompt prefix and right padding per row, NaN in padding."""
    g = torch.Generator().manual_seed(seed)
    logps = [(-torch.rand(B, T, generator=g, dtype=torch.float64) * 3 * scale).to(dtype) for _ in range(4)]
    masks = []
    for _ in range(2):
        m = torch.zeros(B, T, dtype=torch.bool)
        for b in range(B):
            start = int(torch.randint(0, T, (1,), generator=g))
            stop = int(torch.randint(start + 1, T + 1, (1,), generator=g))
            m[b, start:stop] = True  # prompt before start, padding after stop
        masks.append(m)
    for t, m in ((logps[0], masks[0]), (logps[1], masks[1]), (logps[2], masks[0]), (logps[3], masks[1])):
        t[~m] = math.nan  # padding and prompt positions must not matter
    return logps, masks
