"""Timing workload (checker side): what a take-home report's time and memory ratios measure.

Not a test of correctness (only Accepted solutions are timed): a VAE step's ELBO on an
MNIST-sized batch and a WGAN-GP critic step on a small MLP critic, repeated.
"""

import torch
from generative_oracle import make_critic


def test_workload(candidate):
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(128, 1, 28, 28, generator=g) > 0.5).float()
    logits = torch.randn(128, 1, 28, 28, generator=g) * 3
    mu, logvar = torch.randn(128, 32, generator=g), torch.randn(128, 32, generator=g) * 0.5
    spec = make_critic("tanh", 784, H=256, seed=1)
    real, fake, alpha = (
        torch.rand(128, 1, 28, 28, generator=g),
        torch.rand(128, 1, 28, 28, generator=g),
        torch.rand(128, generator=g),
    )
    for _ in range(5):
        candidate.driver.vae(x, logits, mu, logvar, {"beta": 1.0})
        candidate.driver.critic_loss(spec, real, fake, alpha, {"lambda_gp": 10.0})
