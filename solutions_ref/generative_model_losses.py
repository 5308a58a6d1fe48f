"""VAE and WGAN-GP training losses (reference solution).

VAE, Kingma & Welling, ICLR 2014: https://arxiv.org/abs/1312.6114
beta-VAE, Higgins et al., ICLR 2017: https://openreview.net/forum?id=Sy2fzU9gl
WGAN-GP, Gulrajani et al., NeurIPS 2017: https://arxiv.org/abs/1704.00028

VAE, per sample b (the encoder gives q(z | x) = N(mu, exp(logvar)), the decoder Bernoulli logits):
    z       = mu + exp(0.5 * logvar) * eps                         (reparameterization)
    log p   = sum_d [x * log sigmoid(l) + (1 - x) * log sigmoid(-l)] (Bernoulli from logits)
    KL      = 0.5 * sum_z (mu^2 + exp(logvar) - 1 - logvar)          (KL(q || N(0, I)))
    elbo    = mean_b (log p - beta * KL)
WGAN-GP, with one alpha per sample:
    x_hat   = alpha * real + (1 - alpha) * fake
    g       = d critic(x_hat) / d x_hat                              (create_graph: a second-order term)
    penalty = mean_b (||g_b||_2 - 1)^2
    critic  = mean critic(fake) - mean critic(real) + lambda_gp * penalty
    gen     = -mean critic(fake)
"""

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

GAN_DTYPES = (torch.float32, torch.float64)


def _is_number(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)  # a bool is not a number here


def _is_weight(value: object) -> bool:
    return _is_number(value) and math.isfinite(value) and value >= 0


def _floating_dtype(*tensors: Tensor) -> torch.dtype | None:
    """The one dtype the tensors share if it is floating point, else None."""
    dtypes = {t.dtype for t in tensors}
    dtype = dtypes.pop() if len(dtypes) == 1 else None
    return dtype if dtype is not None and dtype.is_floating_point else None


def _compute_dtype(dtype: torch.dtype) -> torch.dtype:
    return torch.promote_types(dtype, torch.float32)  # fp32 math for half inputs


# -- VAE ---------------------------------------------------------------------------------------


def reparameterize(mu: Tensor, logvar: Tensor, eps: Tensor) -> Tensor:
    """z = mu + exp(0.5 * logvar) * eps, differentiable in mu and logvar; same shape and dtype."""
    if not (mu.shape == logvar.shape == eps.shape):
        raise ValueError(
            f"mu, logvar, eps must have one shape, got {[tuple(mu.shape), tuple(logvar.shape), tuple(eps.shape)]}"
        )
    dtype = _floating_dtype(mu, logvar, eps)
    if dtype is None:
        raise ValueError(f"mu, logvar, eps must share one floating dtype, got {mu.dtype}, {logvar.dtype}, {eps.dtype}")
    compute = _compute_dtype(dtype)
    std = torch.exp(0.5 * logvar.to(compute))  # exp(0.5 lv), not sqrt(exp(lv)): no overflow up to lv ~ 177
    return (mu.to(compute) + std * eps.to(compute)).to(dtype)


def elbo(x: Tensor, x_logits: Tensor, mu: Tensor, logvar: Tensor, beta: float = 1.0) -> Tensor:
    """The (beta-)ELBO, higher is better: mean over the batch of log p(x | z) - beta * KL(q(z | x) || N(0, I))."""
    if not _is_weight(beta):
        raise ValueError(f"beta must be a finite number >= 0, got {beta!r}")
    if x.shape != x_logits.shape or x.dim() < 2 or x.shape[0] == 0:
        raise ValueError(
            f"x and x_logits must share one shape (B, ...) with B >= 1, got {tuple(x.shape)}, {tuple(x_logits.shape)}"
        )
    if mu.shape != logvar.shape or mu.dim() != 2 or mu.shape[0] != x.shape[0] or mu.shape[1] == 0:
        raise ValueError(
            f"mu and logvar must be (B, Z) with B = {x.shape[0]}, Z >= 1, got {tuple(mu.shape)}, {tuple(logvar.shape)}"
        )
    dtype = _floating_dtype(x, x_logits, mu, logvar)
    if dtype is None:
        raise ValueError(
            f"x, x_logits, mu, logvar must share one floating dtype, got {[str(t.dtype) for t in (x, x_logits, mu, logvar)]}"
        )
    if not bool(((x >= 0) & (x <= 1)).all()):
        raise ValueError("x holds Bernoulli targets: every value must lie in [0, 1]")
    compute = _compute_dtype(dtype)
    B = x.shape[0]
    x, x_logits = x.to(compute), x_logits.to(compute)
    mu, logvar = mu.to(compute), logvar.to(compute)

    # log p(x | z): logsigmoid is the stable log(sigmoid(l)), finite at |logits| ~ 1e4; summed over every non-batch dim
    log_likelihood = (x * F.logsigmoid(x_logits) + (1 - x) * F.logsigmoid(-x_logits)).sum() / B
    # KL(N(mu, sigma^2) || N(0, 1)) in closed form, summed over the latent dims
    kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum() / B
    return (log_likelihood - beta * kl).to(dtype)


# -- WGAN-GP -----------------------------------------------------------------------------------


def _check_gan_inputs(real: Tensor, fake: Tensor, alpha: Tensor) -> None:
    if real.shape != fake.shape or real.dim() < 2 or real.shape[0] == 0:
        raise ValueError(
            f"real and fake must share one shape (B, ...) with B >= 1, got {tuple(real.shape)}, {tuple(fake.shape)}"
        )
    if alpha.shape != real.shape[:1]:
        raise ValueError(f"alpha must be (B,) = ({real.shape[0]},): one per sample, got {tuple(alpha.shape)}")
    if len({real.dtype, fake.dtype, alpha.dtype}) != 1 or real.dtype not in GAN_DTYPES:
        raise ValueError(
            f"real, fake, alpha must share float32 or float64, got {real.dtype}, {fake.dtype}, {alpha.dtype}"
        )
    if not bool(((alpha >= 0) & (alpha <= 1)).all()):
        raise ValueError("alpha must lie in [0, 1]")


def gradient_penalty(critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor, alpha: Tensor) -> Tensor:
    """mean_b (||d critic(x_hat) / d x_hat||_b - 1)^2, differentiable in the critic's parameters."""
    _check_gan_inputs(real, fake, alpha)
    shape = (-1,) + (1,) * (real.dim() - 1)
    a = alpha.view(shape)  # (B, 1, ..., 1): one alpha per sample
    # real and fake are data here: the interpolate is a fresh leaf, nothing flows back into them
    x_hat = (a * real.detach() + (1 - a) * fake.detach()).requires_grad_(True)
    scores = critic(x_hat)
    # create_graph keeps g differentiable, so the penalty has a gradient in the critic's parameters
    (g,) = torch.autograd.grad(scores, x_hat, grad_outputs=torch.ones_like(scores), create_graph=True)
    norms = torch.linalg.vector_norm(g.flatten(1), dim=1)  # (B,): per sample, over every non-batch dim
    return ((norms - 1) ** 2).mean()


def critic_loss(
    critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor, alpha: Tensor, lambda_gp: float = 10.0
) -> Tensor:
    """What the critic minimises: mean critic(fake) - mean critic(real) + lambda_gp * penalty."""
    if not _is_weight(lambda_gp):
        raise ValueError(f"lambda_gp must be a finite number >= 0, got {lambda_gp!r}")
    _check_gan_inputs(real, fake, alpha)
    real, fake = real.detach(), fake.detach()  # the critic step trains the critic only
    wasserstein = critic(fake).mean() - critic(real).mean()
    return wasserstein + lambda_gp * gradient_penalty(critic, real, fake, alpha)


def generator_loss(critic: Callable[[Tensor], Tensor], fake: Tensor) -> Tensor:
    """What the generator minimises: -mean critic(fake), differentiable in fake."""
    if fake.dim() < 2 or fake.shape[0] == 0 or fake.dtype not in GAN_DTYPES:
        raise ValueError(f"fake must be (B, ...) float32 or float64 with B >= 1, got {tuple(fake.shape)} {fake.dtype}")
    return -critic(fake).mean()
