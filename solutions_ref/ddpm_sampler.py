"""Denoising diffusion sampling: beta schedules, q_sample, the DDPM and DDIM steps, classifier-free guidance (reference).

DDPM: Ho et al., "Denoising Diffusion Probabilistic Models", 2020, https://arxiv.org/abs/2006.11239
Cosine schedule: Nichol & Dhariwal, "Improved Denoising Diffusion Probabilistic Models", 2021,
https://arxiv.org/abs/2102.09672
DDIM: Song et al., "Denoising Diffusion Implicit Models", ICLR 2021, https://arxiv.org/abs/2010.02502
Classifier-free guidance: Ho & Salimans, 2022, https://arxiv.org/abs/2207.12598

Index t in 0..T-1 is the paper's t = 1..T. With alpha_t = 1 - beta_t and abar_t = alpha_0 * ... * alpha_t
(abar_{-1} = 1), all in float64:
    q_sample:  x_t     = sqrt(abar_t) x0 + sqrt(1 - abar_t) noise
    DDPM:      x_{t-1} = (x_t - beta_t / sqrt(1 - abar_t) eps) / sqrt(alpha_t) + sqrt(beta_tilde_t) z,
               beta_tilde_t = beta_t (1 - abar_{t-1}) / (1 - abar_t)      (0 at t = 0)
    DDIM:      x0      = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t)
               sigma   = eta sqrt((1 - abar_prev) / (1 - abar_t)) sqrt(1 - abar_t / abar_prev)
               x_prev  = sqrt(abar_prev) x0 + sqrt(max(1 - abar_prev - sigma^2, 0)) eps + sigma z
    CFG:       eps     = eps_uncond + w (eps_cond - eps_uncond)
"""

import math

import torch
from torch import Tensor

LINEAR_START = 1e-4  # Ho et al.'s beta_1
LINEAR_END = 0.02  # Ho et al.'s beta_T
COSINE_S = 0.008  # Nichol & Dhariwal's offset: beta_1 is not vanishingly small
MAX_BETA = 0.999  # Nichol & Dhariwal's clip: no singularity at t = T
INDEX_DTYPES = (torch.int64, torch.int32)


def _is_number(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)  # a bool is not a number here


def beta_schedule(kind: str, T: int) -> Tensor:
    """The (T,) float64 betas of the "linear" (Ho et al.) or "cosine" (Nichol & Dhariwal) schedule."""
    if not isinstance(T, int) or isinstance(T, bool) or T < 1:
        raise ValueError(f"T must be an int >= 1, got {T!r}")
    if kind == "linear":
        return torch.linspace(LINEAR_START, LINEAR_END, T, dtype=torch.float64)  # (T,)
    if kind == "cosine":
        # f(u) = cos^2((u + s) / (1 + s) * pi / 2) at u = i / T; beta_i = 1 - f((i + 1) / T) / f(i / T)
        u = torch.arange(T + 1, dtype=torch.float64) / T  # (T + 1,)
        f = torch.cos((u + COSINE_S) / (1 + COSINE_S) * (math.pi / 2)) ** 2
        return torch.clamp(1 - f[1:] / f[:-1], max=MAX_BETA)  # (T,)
    raise ValueError(f'kind must be "linear" or "cosine", got {kind!r}')


def _is_batch(x: object) -> bool:
    """A floating tensor of shape (B, ...) with B >= 1."""
    return isinstance(x, Tensor) and x.is_floating_point() and x.dim() >= 1 and x.shape[0] >= 1


def _matches(other: object, x: Tensor) -> bool:
    return isinstance(other, Tensor) and other.shape == x.shape and other.dtype == x.dtype


def _is_steps(t: object, B: int) -> bool:
    return isinstance(t, Tensor) and t.dtype in INDEX_DTYPES and tuple(t.shape) == (B,)


def _describe(x: object) -> str:
    return f"{x.dtype} {tuple(x.shape)}" if isinstance(x, Tensor) else type(x).__name__


def _check_step_inputs(eps: Tensor, x_t: Tensor, z: Tensor) -> None:
    if not _is_batch(x_t):
        raise ValueError(f"x_t must be a floating (B, ...) tensor with B >= 1, got {_describe(x_t)}")
    if not _matches(eps, x_t):
        raise ValueError(f"eps must have the shape and dtype of x_t ({_describe(x_t)}), got {_describe(eps)}")
    if not _matches(z, x_t):
        raise ValueError(f"z must have the shape and dtype of x_t ({_describe(x_t)}), got {_describe(z)}")


def _per_sample(coefficient: Tensor, x: Tensor, dtype: torch.dtype) -> Tensor:
    """A (B,) float64 coefficient as (B, 1, ..., 1) in the compute dtype, so it scales sample b only."""
    return coefficient.to(dtype).reshape(-1, *([1] * (x.dim() - 1)))  # (B, 1, ..., 1)


def _compute_dtype(x: Tensor) -> torch.dtype:
    return torch.float64 if x.dtype == torch.float64 else torch.float32  # half precision in fp32


class GaussianDiffusion:
    """The schedule state of one beta schedule: alpha-bar and its shifted copy, in float64."""

    def __init__(self, betas: Tensor) -> None:
        if not isinstance(betas, Tensor) or betas.dim() != 1 or betas.numel() < 1 or not betas.is_floating_point():
            shape = tuple(betas.shape) if isinstance(betas, Tensor) else type(betas).__name__
            raise ValueError(f"betas must be a floating (T,) tensor with T >= 1, got {shape}")
        if not ((betas > 0) & (betas < 1)).all():
            raise ValueError("every beta must lie in (0, 1)")
        self.betas = betas.to(torch.float64).clone()  # (T,): the caller may reuse their tensor
        self.alphas_cumprod = torch.cumprod(1 - self.betas, dim=0)  # (T,) abar_t
        one = self.alphas_cumprod.new_ones(1)
        self.alphas_cumprod_prev = torch.cat([one, self.alphas_cumprod[:-1]])  # (T,) abar_{t-1}, abar_{-1} = 1

    def _check_t(self, t: Tensor, x: Tensor) -> None:
        if not _is_steps(t, x.shape[0]):
            raise ValueError(f"t must be an int64 or int32 tensor of shape ({x.shape[0]},), got {_describe(t)}")
        if not ((t >= 0) & (t < len(self.betas))).all():
            raise ValueError(f"t must lie in [0, {len(self.betas)}), got {t.tolist()}")

    def q_sample(self, x0: Tensor, t: Tensor, noise: Tensor) -> Tensor:
        """x_t ~ q(x_t | x0) for the given noise: sqrt(abar_t) x0 + sqrt(1 - abar_t) noise."""
        if not _is_batch(x0):
            raise ValueError(f"x0 must be a floating (B, ...) tensor with B >= 1, got {_describe(x0)}")
        if not _matches(noise, x0):
            raise ValueError(f"noise must have the shape and dtype of x0 ({_describe(x0)}), got {_describe(noise)}")
        self._check_t(t, x0)
        dtype = _compute_dtype(x0)
        abar = self.alphas_cumprod[t.long()]  # (B,)
        signal = _per_sample(abar.sqrt(), x0, dtype)  # (B, 1, ..., 1)
        spread = _per_sample((1 - abar).sqrt(), x0, dtype)
        return (signal * x0.to(dtype) + spread * noise.to(dtype)).to(x0.dtype)

    def p_sample_step(self, eps: Tensor, x_t: Tensor, t: Tensor, z: Tensor) -> Tensor:
        """One ancestral DDPM step x_t -> x_{t-1}: the posterior mean plus sqrt(beta_tilde_t) z."""
        _check_step_inputs(eps, x_t, z)
        self._check_t(t, x_t)
        dtype = _compute_dtype(x_t)
        index = t.long()
        beta = self.betas[index]  # (B,)
        abar = self.alphas_cumprod[index]
        abar_prev = self.alphas_cumprod_prev[index]
        # mean = (x_t - beta_t / sqrt(1 - abar_t) eps) / sqrt(alpha_t)
        eps_coefficient = _per_sample(beta / (1 - abar).sqrt(), x_t, dtype)
        mean = (x_t.to(dtype) - eps_coefficient * eps.to(dtype)) / _per_sample((1 - beta).sqrt(), x_t, dtype)
        # beta_tilde_t is exactly 0 at t = 0 (abar_{-1} = 1): the last step adds no noise
        beta_tilde = beta * (1 - abar_prev) / (1 - abar)
        return (mean + _per_sample(beta_tilde.sqrt(), x_t, dtype) * z.to(dtype)).to(x_t.dtype)

    def ddim_step(self, eps: Tensor, x_t: Tensor, t: Tensor, t_prev: Tensor, eta: float, z: Tensor) -> Tensor:
        """One DDIM step x_t -> x_{t_prev} (t_prev = -1: to x0, abar_prev = 1), stochastic for eta > 0."""
        _check_step_inputs(eps, x_t, z)
        self._check_t(t, x_t)
        if not _is_steps(t_prev, x_t.shape[0]):
            raise ValueError(
                f"t_prev must be an int64 or int32 tensor of shape ({x_t.shape[0]},), got {_describe(t_prev)}"
            )
        if not ((t_prev >= -1) & (t_prev < t)).all():
            raise ValueError(f"t_prev must satisfy -1 <= t_prev < t, got t={t.tolist()}, t_prev={t_prev.tolist()}")
        if not _is_number(eta) or not 0 <= eta <= 1:
            raise ValueError(f"eta must be a number in [0, 1], got {eta!r}")
        dtype = _compute_dtype(x_t)
        abar = self.alphas_cumprod[t.long()]  # (B,)
        previous = t_prev.long()
        abar_prev = torch.where(previous >= 0, self.alphas_cumprod[previous.clamp(min=0)], 1.0)  # (B,)
        sigma = eta * ((1 - abar_prev) / (1 - abar) * (1 - abar / abar_prev)).sqrt()  # (B,)
        # the predicted x0, then the point at abar_prev along the predicted noise, plus sigma z
        x0 = (x_t.to(dtype) - _per_sample((1 - abar).sqrt(), x_t, dtype) * eps.to(dtype)) / _per_sample(
            abar.sqrt(), x_t, dtype
        )
        # 1 - abar_prev - sigma^2 >= 0 exactly, but rounds to ~-1e-16 where abar_t ~ 0 at eta = 1: clamp, no NaN
        direction = (1 - abar_prev - sigma**2).clamp(min=0).sqrt()  # (B,)
        x_prev = (
            _per_sample(abar_prev.sqrt(), x_t, dtype) * x0
            + _per_sample(direction, x_t, dtype) * eps.to(dtype)
            + _per_sample(sigma, x_t, dtype) * z.to(dtype)
        )
        return x_prev.to(x_t.dtype)


def cfg(eps_cond: Tensor, eps_uncond: Tensor, w: float) -> Tensor:
    """Classifier-free guidance: eps_uncond + w (eps_cond - eps_uncond); w = 1 is the conditional model."""
    if not _is_batch(eps_cond):
        raise ValueError(f"eps_cond must be a floating (B, ...) tensor with B >= 1, got {_describe(eps_cond)}")
    if not _matches(eps_uncond, eps_cond):
        raise ValueError(
            f"eps_uncond must have the shape and dtype of eps_cond ({_describe(eps_cond)}), got {_describe(eps_uncond)}"
        )
    if not _is_number(w) or not math.isfinite(w):
        raise ValueError(f"w must be a finite number, got {w!r}")
    dtype = _compute_dtype(eps_cond)
    uncond = eps_uncond.to(dtype)
    return (uncond + w * (eps_cond.to(dtype) - uncond)).to(eps_cond.dtype)
