"""Float64 oracles for generative-model-losses (checker side).

The VAE quantities and their gradients are in closed form. The WGAN-GP quantities are computed by
float64 autograd on critics written here with plain tensor ops (the worker builds the same critics
as torch.nn.Modules in driver.py); tests/test_problem_generative_model_losses.py checks these
gradients against finite differences.
"""

from typing import NamedTuple

import torch
from torch import Tensor

F64 = torch.float64


class VaeExpected(NamedTuple):
    elbo: Tensor  # 0-d
    grad_logits: Tensor  # like x_logits
    grad_mu: Tensor  # (B, Z)
    grad_logvar: Tensor  # (B, Z)


def _log_sigmoid(z: Tensor) -> Tensor:
    # log sigmoid(z) = min(z, 0) - log1p(exp(-|z|)), exact for any finite z
    return torch.minimum(z, torch.zeros_like(z)) - torch.log1p(torch.exp(-z.abs()))


def reparameterize_oracle(mu: Tensor, logvar: Tensor, eps: Tensor, grad_z: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """(z, d<z, grad_z>/d mu, d<z, grad_z>/d logvar) in float64."""
    mu, logvar, eps, grad_z = (t.to(F64) for t in (mu, logvar, eps, grad_z))
    std = torch.exp(0.5 * logvar)
    return mu + std * eps, grad_z.clone(), grad_z * 0.5 * std * eps


def elbo_oracle(x: Tensor, x_logits: Tensor, mu: Tensor, logvar: Tensor, beta: float = 1.0) -> VaeExpected:
    """mean_b [sum_d (x log s(l) + (1 - x) log s(-l)) - beta * 0.5 sum_z (mu^2 + e^lv - 1 - lv)]."""
    x, logits, mu, logvar = (t.to(F64) for t in (x, x_logits, mu, logvar))
    B = x.shape[0]
    log_p = (x * _log_sigmoid(logits) + (1 - x) * _log_sigmoid(-logits)).sum() / B
    kl = 0.5 * (mu**2 + torch.expm1(logvar) - logvar).sum() / B
    grad_logits = (x - torch.sigmoid(logits)) / B
    return VaeExpected(log_p - beta * kl, grad_logits, -beta * mu / B, -beta * 0.5 * torch.expm1(logvar) / B)


# -- critics -----------------------------------------------------------------------------------


def make_critic(kind: str, D: int, H: int = 8, seed: int = 0, dtype=torch.float32, keepdim: bool = False) -> dict:
    """A critic spec: plain tensors the driver turns into an nn.Module in the worker.

    kind "linear": v . x + d; "tanh" / "relu" / "softplus": v . act(W x + c) + d, x flattened per sample.
    keepdim=True makes the critic return (B, 1) instead of (B,).
    """
    g = torch.Generator().manual_seed(seed)
    spec: dict = {"kind": kind, "keepdim": keepdim}
    if kind == "linear":
        spec["v"] = (torch.randn(D, generator=g, dtype=F64) / D**0.5).to(dtype)
    else:
        spec["W"] = (torch.randn(H, D, generator=g, dtype=F64) * 1.5 / D**0.5).to(dtype)
        spec["c"] = (torch.randn(H, generator=g, dtype=F64) * 0.5).to(dtype)
        spec["v"] = (torch.randn(H, generator=g, dtype=F64) / H**0.5).to(dtype)
    spec["d"] = torch.randn((), generator=g, dtype=F64).to(dtype)
    return spec


PARAMETERS = {
    "linear": ("v", "d"),
    "tanh": ("W", "c", "v", "d"),
    "relu": ("W", "c", "v", "d"),
    "softplus": ("W", "c", "v", "d"),
}
ACTIVATIONS = {"tanh": torch.tanh, "relu": torch.relu, "softplus": torch.nn.functional.softplus}


def critic_scores(spec: dict, params: dict, x: Tensor) -> Tensor:
    """(B,) or (B, 1) scores of the critic `spec` with parameter tensors `params` (name -> tensor)."""
    h = x.reshape(x.shape[0], -1)  # (B, D)
    if spec["kind"] == "linear":
        out = h @ params["v"] + params["d"]
    else:
        out = ACTIVATIONS[spec["kind"]](h @ params["W"].T + params["c"]) @ params["v"] + params["d"]
    return out[:, None] if spec["keepdim"] else out


def _leaves(spec: dict) -> dict:
    return {name: spec[name].detach().to(F64).requires_grad_(True) for name in PARAMETERS[spec["kind"]]}


def penalty_value(spec: dict, params: dict, real: Tensor, fake: Tensor, alpha: Tensor) -> Tensor:
    """mean_b (||grad_x critic(x_hat_b)|| - 1)^2 with x_hat = alpha * real + (1 - alpha) * fake (float64)."""
    a = alpha.to(F64).reshape((-1,) + (1,) * (real.dim() - 1))
    x_hat = (a * real.to(F64) + (1 - a) * fake.to(F64)).requires_grad_(True)
    scores = critic_scores(spec, params, x_hat)
    (g,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)
    squared = (g.reshape(g.shape[0], -1) ** 2).sum(dim=1)
    # the norm's gradient at a zero gradient is taken as 0 (the subgradient vector_norm uses)
    safe = torch.where(squared > 0, squared, torch.ones_like(squared))
    norms = torch.where(squared > 0, safe.sqrt(), torch.zeros_like(squared))
    return ((norms - 1) ** 2).mean()


def _grads(value: Tensor, params: dict) -> dict:
    grads = torch.autograd.grad(value, list(params.values()), allow_unused=True)
    return {n: torch.zeros_like(p) if g is None else g for (n, p), g in zip(params.items(), grads, strict=True)}


def penalty_oracle(spec: dict, real: Tensor, fake: Tensor, alpha: Tensor) -> tuple[Tensor, dict]:
    """(penalty, d penalty / d each critic parameter) in float64."""
    params = _leaves(spec)
    value = penalty_value(spec, params, real, fake, alpha)
    return value.detach(), _grads(value, params)


def critic_loss_oracle(spec: dict, real: Tensor, fake: Tensor, alpha: Tensor, lambda_gp: float = 10.0):
    """(loss, d loss / d each critic parameter) in float64."""
    params = _leaves(spec)
    wasserstein = critic_scores(spec, params, fake.to(F64)).mean() - critic_scores(spec, params, real.to(F64)).mean()
    value = wasserstein + lambda_gp * penalty_value(spec, params, real, fake, alpha)
    return value.detach(), _grads(value, params)


def generator_loss_oracle(spec: dict, fake: Tensor) -> tuple[Tensor, Tensor]:
    """(-mean critic(fake), its gradient in fake) in float64."""
    params = {n: t.detach().to(F64) for n, t in _leaves(spec).items()}
    leaf = fake.detach().to(F64).requires_grad_(True)
    value = -critic_scores(spec, params, leaf).mean()
    (grad,) = torch.autograd.grad(value, leaf)
    return value.detach(), grad
