"""VAE and WGAN-GP training losses.

VAE, Kingma & Welling, ICLR 2014: https://arxiv.org/abs/1312.6114
WGAN-GP, Gulrajani et al., NeurIPS 2017: https://arxiv.org/abs/1704.00028
"""

from collections.abc import Callable

from torch import Tensor


def reparameterize(mu: Tensor, logvar: Tensor, eps: Tensor) -> Tensor:
    """z = mu + exp(0.5 * logvar) * eps, differentiable in mu and logvar; same shape and dtype."""
    raise NotImplementedError


def elbo(x: Tensor, x_logits: Tensor, mu: Tensor, logvar: Tensor, beta: float = 1.0) -> Tensor:
    """The (beta-)ELBO itself, higher is better, a 0-d tensor.

    x, x_logits: (B, ...) Bernoulli targets in [0, 1] and logits; mu, logvar: (B, Z).
    mean over the batch of [sum log p(x | z) - beta * KL(N(mu, exp(logvar)) || N(0, I))].
    """
    raise NotImplementedError


def gradient_penalty(critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor, alpha: Tensor) -> Tensor:
    """mean_b (||d critic(x_hat) / d x_hat||_b - 1)^2 with x_hat = alpha * real + (1 - alpha) * fake.

    real, fake: (B, ...); alpha: (B,), one per sample. Not weighted by lambda; differentiable in the
    critic's parameters (create_graph=True).
    """
    raise NotImplementedError


def critic_loss(
    critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor, alpha: Tensor, lambda_gp: float = 10.0
) -> Tensor:
    """What the critic minimises: mean critic(fake) - mean critic(real) + lambda_gp * gradient_penalty."""
    raise NotImplementedError


def generator_loss(critic: Callable[[Tensor], Tensor], fake: Tensor) -> Tensor:
    """What the generator minimises: -mean critic(fake), differentiable in fake."""
    raise NotImplementedError
