"""Checker-side float64 oracle for ddpm-sampler: the statement's formulas, one sample at a time.

The schedule is built with Python floats (math.cos, a running product), the per-sample
coefficients too; only the elementwise combination of a sample's tensors uses torch, in float64.
Expected values are then rounded to the inputs' dtype by the tests.
"""

import math

import torch
from torch import Tensor


def betas_oracle(kind: str, T: int) -> list[float]:
    if kind == "linear":
        if T == 1:
            return [1e-4]
        return [1e-4 + (0.02 - 1e-4) * i / (T - 1) for i in range(T)]
    s = 0.008

    def f(u: float) -> float:
        return math.cos((u + s) / (1 + s) * math.pi / 2) ** 2

    return [min(1 - f((i + 1) / T) / f(i / T), 0.999) for i in range(T)]


def alpha_bars(betas: list[float]) -> list[float]:
    """abar_t = (1 - beta_0) ... (1 - beta_t), for t = 0..T-1."""
    out, running = [], 1.0
    for beta in betas:
        running *= 1 - beta
        out.append(running)
    return out


def _rows(*tensors: Tensor) -> list[tuple[Tensor, ...]]:
    return list(zip(*(x.to(torch.float64) for x in tensors), strict=True))


def q_sample_oracle(betas: list[float], x0: Tensor, t: list[int], noise: Tensor) -> Tensor:
    abar = alpha_bars(betas)
    out = [math.sqrt(abar[s]) * x + math.sqrt(1 - abar[s]) * n for s, (x, n) in zip(t, _rows(x0, noise), strict=True)]
    return torch.stack(out)


def posterior(betas: list[float], s: int) -> tuple[float, float, float]:
    """(1 / sqrt(alpha_t), beta_t / sqrt(1 - abar_t), beta_tilde_t) at index s."""
    abar = alpha_bars(betas)
    abar_prev = abar[s - 1] if s > 0 else 1.0
    beta = betas[s]
    return 1 / math.sqrt(1 - beta), beta / math.sqrt(1 - abar[s]), beta * (1 - abar_prev) / (1 - abar[s])


def p_sample_oracle(betas: list[float], eps: Tensor, x_t: Tensor, t: list[int], z: Tensor) -> Tensor:
    out = []
    for s, (e, x, n) in zip(t, _rows(eps, x_t, z), strict=True):
        scale, eps_coefficient, beta_tilde = posterior(betas, s)
        out.append(scale * (x - eps_coefficient * e) + math.sqrt(beta_tilde) * n)
    return torch.stack(out)


def ddim_coefficients(betas: list[float], s: int, s_prev: int, eta: float) -> tuple[float, float, float, float]:
    """(abar_t, abar_prev, sigma, sqrt(1 - abar_prev - sigma^2)) for one sample."""
    abar = alpha_bars(betas)
    a, a_prev = abar[s], (abar[s_prev] if s_prev >= 0 else 1.0)
    sigma = eta * math.sqrt((1 - a_prev) / (1 - a)) * math.sqrt(1 - a / a_prev)
    return a, a_prev, sigma, math.sqrt(max(1 - a_prev - sigma**2, 0.0))


def ddim_oracle(
    betas: list[float], eps: Tensor, x_t: Tensor, t: list[int], t_prev: list[int], eta: float, z: Tensor
) -> Tensor:
    out = []
    for s, s_prev, (e, x, n) in zip(t, t_prev, _rows(eps, x_t, z), strict=True):
        a, a_prev, sigma, direction = ddim_coefficients(betas, s, s_prev, eta)
        x0 = (x - math.sqrt(1 - a) * e) / math.sqrt(a)
        out.append(math.sqrt(a_prev) * x0 + direction * e + sigma * n)
    return torch.stack(out)


def cfg_oracle(eps_cond: Tensor, eps_uncond: Tensor, w: float) -> Tensor:
    cond, uncond = eps_cond.to(torch.float64), eps_uncond.to(torch.float64)
    return uncond + w * (cond - uncond)
