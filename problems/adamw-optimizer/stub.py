"""AdamW, a warmup + cosine learning-rate schedule and global-norm gradient clipping.

AdamW: Loshchilov & Hutter, ICLR 2019: https://arxiv.org/abs/1711.05101
"""

from collections.abc import Callable, Iterable

import torch
from torch import Tensor


class AdamW(torch.optim.Optimizer):
    """Adam with decoupled weight decay; per-parameter state in self.state[p] ("step", "exp_avg", "exp_avg_sq")."""

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
    ) -> None:
        raise NotImplementedError

    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        """One update of every parameter that has a gradient; returns closure() when given."""
        raise NotImplementedError


def warmup_cosine(step: int, warmup: int, total: int, peak: float, floor: float = 0.0) -> float:
    """Learning rate at `step`: linear 0 -> peak over [0, warmup], cosine peak -> floor over [warmup, total]."""
    raise NotImplementedError


def clip_grad_norm(params: Tensor | Iterable[Tensor], max_norm: float) -> Tensor:
    """Scale every p.grad in place so that their global L2 norm is at most max_norm; return the norm before."""
    raise NotImplementedError
