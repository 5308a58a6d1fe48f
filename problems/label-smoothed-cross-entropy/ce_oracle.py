"""Float64 oracle for label-smoothed-cross-entropy (checker side): losses and logit gradients in closed form.

Written from the definition, H(q, p) with the smoothed target distribution q spelled out, and the
gradient (p - q) times each token's weight in the reduction.
"""

from typing import NamedTuple

import torch
from torch import Tensor


class Expected(NamedTuple):
    loss: Tensor  # float64: 0-d, or labels' shape for reduction="none"
    grad: Tensor  # float64, logits' shape: d loss / d logits (for "none": of sum(loss * grad_output))


def _log_softmax(z: Tensor) -> Tensor:
    z = z.double()
    shifted = z - z.max(dim=-1, keepdim=True).values  # largest entry 0: exp cannot overflow
    return shifted - shifted.exp().sum(dim=-1, keepdim=True).log()


def _target_distribution(labels: Tensor, V: int, label_smoothing: float, valid: Tensor) -> Tensor:
    """q = (1 - eps) * onehot(y) + eps / V on valid rows, zeros on ignored ones; float64 (..., V)."""
    onehot = torch.zeros(*labels.shape, V, dtype=torch.float64)
    onehot.scatter_(-1, torch.where(valid, labels, 0).unsqueeze(-1), 1.0)
    q = (1.0 - label_smoothing) * onehot + label_smoothing / V
    return q * valid.unsqueeze(-1)


def cross_entropy_oracle(
    logits: Tensor,
    labels: Tensor,
    label_smoothing: float = 0.0,
    ignore_index: int = -100,
    reduction: str = "mean",
    grad_output: Tensor | None = None,
) -> Expected:
    V = logits.shape[-1]
    valid = labels != ignore_index
    logp = _log_softmax(logits)
    q = _target_distribution(labels, V, label_smoothing, valid)
    per_token = -(q * logp).sum(dim=-1)  # (...), exactly 0 on ignored rows
    n = int(valid.sum())
    if reduction == "none":
        loss = per_token
        weight = torch.ones(labels.shape, dtype=torch.float64) if grad_output is None else grad_output.double()
    elif reduction == "sum":
        loss, weight = per_token.sum(), torch.ones(labels.shape, dtype=torch.float64)
    else:
        loss = per_token.sum() / n if n else torch.tensor(float("nan"), dtype=torch.float64)
        weight = torch.full(labels.shape, 1.0 / n if n else 0.0, dtype=torch.float64)
    p = logp.exp()
    grad = (p - q) * (weight * valid).unsqueeze(-1)
    return Expected(loss, grad)


def accumulated_oracle(micro_batches, label_smoothing: float = 0.0, ignore_index: int = -100):
    """(loss, [d loss / d logits per micro-batch]): one mean over every shifted, non-ignored target."""
    sums, grads, n = [], [], 0
    for logits, labels in micro_batches:
        targets = labels[:, 1:]
        n += int((targets != ignore_index).sum())
        e = cross_entropy_oracle(logits[:, :-1], targets, label_smoothing, ignore_index, "sum")
        sums.append(e.loss)
        grad = torch.zeros(logits.shape, dtype=torch.float64)  # the last position has no target
        grad[:, :-1] = e.grad
        grads.append(grad)
    return torch.stack(sums).sum() / n, [g / n for g in grads]


def random_case(shape, V: int, dtype: torch.dtype, seed: int, *, ignore_index=-100, ignore_frac=0.3, scale=3.0):
    """(logits of shape + (V,), int64 labels of shape) with about ignore_frac of the labels ignored."""
    g = torch.Generator().manual_seed(seed)
    logits = (torch.randn(*shape, V, generator=g, dtype=torch.float64) * scale).to(dtype)
    labels = torch.randint(0, V, tuple(shape), generator=g)
    labels[torch.rand(tuple(shape), generator=g) < ignore_frac] = ignore_index
    return logits, labels
