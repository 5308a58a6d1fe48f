"""AdamW, a warmup + cosine learning-rate schedule and global-norm gradient clipping (reference solution).

AdamW: Loshchilov & Hutter, "Decoupled Weight Decay Regularization", ICLR 2019,
https://arxiv.org/abs/1711.05101 (Adam: Kingma & Ba, ICLR 2015, https://arxiv.org/abs/1412.6980)
Cosine annealing: Loshchilov & Hutter, "SGDR", ICLR 2017, https://arxiv.org/abs/1608.03983
Global-norm clipping: Pascanu et al., ICML 2013, https://arxiv.org/abs/1211.5063

Per parameter theta with gradient g, at its t-th step (t counts the steps it had a gradient):
    theta <- theta * (1 - lr * lambda)          decoupled weight decay, before the Adam step
    m <- beta1 * m + (1 - beta1) * g
    v <- beta2 * v + (1 - beta2) * g^2
    theta <- theta - (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
"""

import math
from collections.abc import Callable, Iterable

import torch
from torch import Tensor

CLIP_EPS = 1e-6  # added to the total norm before dividing, as torch.nn.utils.clip_grad_norm_ does


def _check_hyperparameters(lr: float, betas: tuple[float, float], eps: float, weight_decay: float, where: str) -> None:
    if not lr >= 0.0:  # `not >=` also rejects NaN
        raise ValueError(f"{where}: lr must be >= 0, got {lr!r}")
    if len(betas) != 2 or not all(0.0 <= beta < 1.0 for beta in betas):
        raise ValueError(f"{where}: betas must be a pair in [0, 1), got {betas!r}")
    if not eps >= 0.0:
        raise ValueError(f"{where}: eps must be >= 0, got {eps!r}")
    if not weight_decay >= 0.0:
        raise ValueError(f"{where}: weight_decay must be >= 0, got {weight_decay!r}")


class AdamW(torch.optim.Optimizer):
    """Adam with decoupled weight decay; hyperparameters are read from each param group at every step."""

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
    ) -> None:
        _check_hyperparameters(lr, betas, eps, weight_decay, "AdamW")
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay}
        super().__init__(params, defaults)
        for i, group in enumerate(self.param_groups):
            _check_hyperparameters(group["lr"], group["betas"], group["eps"], group["weight_decay"], f"param group {i}")

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, (beta1, beta2), eps, weight_decay = group["lr"], group["betas"], group["eps"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:  # no gradient this step: no decay, no moment update, no step count
                    continue
                g = p.grad
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p)  # m, with p's strides
                    state["exp_avg_sq"] = torch.zeros_like(p)  # v
                state["step"] += 1
                t, m, v = state["step"], state["exp_avg"], state["exp_avg_sq"]

                # decoupled weight decay: theta <- theta * (1 - lr * lambda)
                p.mul_(1.0 - lr * weight_decay)
                # first and second moments
                m.mul_(beta1).add_(g, alpha=1.0 - beta1)
                v.mul_(beta2).addcmul_(g, g, value=1.0 - beta2)
                # bias corrections of the t-th step: m_hat = m / bc1, sqrt(v_hat) = sqrt(v) / sqrt(bc2)
                bias_correction1 = 1.0 - beta1**t
                bias_correction2 = 1.0 - beta2**t
                denom = (v.sqrt() / math.sqrt(bias_correction2)).add_(eps)
                p.addcdiv_(m, denom, value=-lr / bias_correction1)
        return loss


def warmup_cosine(step: int, warmup: int, total: int, peak: float, floor: float = 0.0) -> float:
    """Learning rate at `step`: linear 0 -> peak over [0, warmup], cosine peak -> floor over [warmup, total]."""
    if step < 0 or warmup < 0 or not total > warmup:
        raise ValueError(f"need step >= 0 and 0 <= warmup < total, got step={step}, warmup={warmup}, total={total}")
    if not peak >= 0.0 or not 0.0 <= floor <= peak:
        raise ValueError(f"need peak >= 0 and 0 <= floor <= peak, got peak={peak!r}, floor={floor!r}")
    if step < warmup:
        return peak * step / warmup
    progress = (min(step, total) - warmup) / (total - warmup)  # in [0, 1]: floor from total on
    return floor + 0.5 * (peak - floor) * (1.0 + math.cos(math.pi * progress))


def clip_grad_norm(params: Tensor | Iterable[Tensor], max_norm: float) -> Tensor:
    """Scale every p.grad in place so that their global L2 norm is at most max_norm; return the norm before."""
    if not max_norm > 0.0:
        raise ValueError(f"max_norm must be > 0, got {max_norm!r}")
    params = [params] if isinstance(params, Tensor) else list(params)  # a generator is read once
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return torch.tensor(0.0)
    # fp32 accumulation for half gradients (their squares overflow at |g| ~ 256), fp64 if any is fp64
    acc_dtype = torch.float64 if any(g.dtype == torch.float64 for g in grads) else torch.float32
    norms = torch.stack([torch.linalg.vector_norm(g, dtype=acc_dtype) for g in grads])  # one per parameter
    total_norm = torch.linalg.vector_norm(norms)  # sqrt(sum of all squares)
    if not torch.isfinite(total_norm):  # inf or NaN: nothing sensible to scale by, leave the grads alone
        return total_norm
    clip_coef = max_norm / (total_norm + CLIP_EPS)
    if clip_coef < 1.0:
        for g in grads:
            g.mul_(clip_coef.to(g.dtype))
    return total_norm
