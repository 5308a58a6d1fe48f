"""Diffusion sampling: beta schedules, q_sample, the DDPM and DDIM steps, classifier-free guidance.

DDPM: Ho et al. 2020, https://arxiv.org/abs/2006.11239
Cosine schedule: Nichol & Dhariwal 2021, https://arxiv.org/abs/2102.09672
DDIM: Song et al. 2021, https://arxiv.org/abs/2010.02502
Classifier-free guidance: Ho & Salimans 2022, https://arxiv.org/abs/2207.12598
"""

from torch import Tensor


def beta_schedule(kind: str, T: int) -> Tensor:
    """The (T,) float64 betas of the "linear" (1e-4 to 0.02) or "cosine" (s = 0.008, clipped at 0.999) schedule."""
    raise NotImplementedError


class GaussianDiffusion:
    """The float64 schedule state of betas (T,); steps t are 0-based (0..T-1), per sample (B,)."""

    def __init__(self, betas: Tensor) -> None:
        raise NotImplementedError

    def q_sample(self, x0: Tensor, t: Tensor, noise: Tensor) -> Tensor:
        """x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) noise; x0, noise (B, ...), t (B,)."""
        raise NotImplementedError

    def p_sample_step(self, eps: Tensor, x_t: Tensor, t: Tensor, z: Tensor) -> Tensor:
        """x_{t-1}: the DDPM posterior mean from eps plus sqrt(beta_tilde_t) z (no noise at t = 0)."""
        raise NotImplementedError

    def ddim_step(self, eps: Tensor, x_t: Tensor, t: Tensor, t_prev: Tensor, eta: float, z: Tensor) -> Tensor:
        """x_{t_prev} by DDIM with sigma scaled by eta; t_prev = -1 steps to x0 (abar_prev = 1)."""
        raise NotImplementedError


def cfg(eps_cond: Tensor, eps_uncond: Tensor, w: float) -> Tensor:
    """Classifier-free guidance: eps_uncond + w (eps_cond - eps_uncond); w = 1 is the conditional model."""
    raise NotImplementedError
