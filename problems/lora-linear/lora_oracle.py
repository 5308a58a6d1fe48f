"""Float64 oracle for lora-linear (checker side): outputs, merged weights and gradients in closed form."""

import math
from typing import NamedTuple

import torch
from torch import Tensor


class Expected(NamedTuple):
    y: Tensor  # (..., F)
    grad_x: Tensor  # (..., C)
    grad_A: Tensor  # (r, C)
    grad_B: Tensor  # (F, r)


def scaling(r: int, alpha: float, use_rslora: bool = False) -> float:
    return alpha / math.sqrt(r) if use_rslora else alpha / r


def delta_weight(A: Tensor, B: Tensor, s: float) -> Tensor:
    """s * B A in float64: (F, r) @ (r, C) -> (F, C)."""
    return s * torch.einsum("fk,kc->fc", B.double(), A.double())


def lora_oracle(x, W, b, A, B, s, keep=None, p=0.0, grad_out=None) -> Expected:
    """Unmerged forward and its gradients; `keep` (bool, x's shape) and p are the dropout on the adapter input.

    Flattens the leading dimensions of x to N rows; gradients are for y.backward(grad_out).
    """
    C = x.shape[-1]
    F = W.shape[0]
    x64 = x.double().reshape(-1, C)  # (N, C)
    xd = x64 if keep is None else x64 * keep.reshape(-1, C).double() / (1.0 - p)  # adapter input
    W64, A64, B64 = W.double(), A.double(), B.double()
    u = xd @ A64.T  # (N, r)
    y = x64 @ W64.T + s * (u @ B64.T)  # (N, F)
    if b is not None:
        y = y + b.double()
    g = torch.zeros_like(y) if grad_out is None else grad_out.double().reshape(-1, F)  # (N, F)
    gB = g @ B64  # (N, r)
    dx_adapter = s * (gB @ A64)  # d/d xd
    if keep is not None:
        dx_adapter = dx_adapter * keep.reshape(-1, C).double() / (1.0 - p)
    grad_x = g @ W64 + dx_adapter
    grad_A = s * gB.T @ xd  # (r, C)
    grad_B = s * g.T @ u  # (F, r)
    lead = tuple(x.shape[:-1])
    return Expected(y.reshape(*lead, F), grad_x.reshape(*lead, C), grad_A, grad_B)


def merged_weight(W: Tensor, A: Tensor, B: Tensor, s: float) -> Tensor:
    return W.double() + delta_weight(A, B, s)


def linear_oracle(x: Tensor, W: Tensor, b: Tensor | None) -> Tensor:
    """x W^T + b in float64, for a merged layer (W already holds the update)."""
    y = torch.einsum("...c,fc->...f", x.double(), W.double())
    return y if b is None else y + b.double()
