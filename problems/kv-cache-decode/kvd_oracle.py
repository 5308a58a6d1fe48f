"""Checker-side float64 oracle for kv-cache-decode: the full causal forward, one row at a time.

Each row's real tokens are taken out of the padded batch, numbered 0..n-1, and run through
plain causal attention in float64 with RoPE written as an explicit rotation of the pairs
(i, i + D/2). Nothing here is shared with the reference: no cache, no batched masks.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass
class Model:
    """The layer's parameters as the tests hand them to LlamaAttention."""

    wq: Tensor  # (C, H*D)
    wk: Tensor  # (C, Hkv*D)
    wv: Tensor  # (C, Hkv*D)
    wo: Tensor  # (H*D, C)
    n_heads: int
    n_kv_heads: int
    rope_base: float = 10000.0

    @property
    def head_dim(self) -> int:
        return self.wq.shape[1] // self.n_heads

    def kwargs(self) -> dict:
        return {"n_heads": self.n_heads, "n_kv_heads": self.n_kv_heads, "rope_base": self.rope_base}

    def args(self) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        return self.wq, self.wk, self.wv, self.wo


def make_model(
    C: int, H: int, Hkv: int, D: int, *, seed: int, dtype=torch.float32, rope_base: float = 10000.0, scale: float = 1.0
) -> Model:
    g = torch.Generator().manual_seed(seed)

    def w(rows: int, cols: int) -> Tensor:
        return (torch.randn(rows, cols, generator=g, dtype=torch.float64) * scale / rows**0.5).to(dtype)

    return Model(w(C, H * D), w(C, Hkv * D), w(C, Hkv * D), w(H * D, C), H, Hkv, rope_base)


def make_x(B: int, T: int, C: int, *, seed: int, dtype=torch.float32, scale: float = 1.0) -> Tensor:
    g = torch.Generator().manual_seed(seed + 7919)
    return (torch.randn(B, T, C, generator=g, dtype=torch.float64) * scale).to(dtype)


def left_padded_mask(lengths: list[int], T: int) -> Tensor:
    """(B, T) bool: row b has T - lengths[b] pads, then lengths[b] real tokens."""
    return torch.stack([torch.arange(T) >= T - n for n in lengths])


def rotate(x: Tensor, positions: Tensor, rope_base: float) -> Tensor:
    """RoPE on head vectors x (n, heads, D) at positions (n,): pair (x_i, x_{i+D/2}) rotated by p * base^(-2i/D)."""
    D = x.shape[-1]
    half = D // 2
    theta = torch.tensor([rope_base ** (-2 * i / D) for i in range(half)], dtype=torch.float64)
    angle = positions.double()[:, None, None] * theta  # (n, 1, D/2)
    c, s = angle.cos(), angle.sin()
    a, b = x[..., :half], x[..., half:]
    return torch.cat([a * c - b * s, b * c + a * s], dim=-1)


def row_forward(model: Model, tokens: Tensor, kv_dtype: torch.dtype | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """Causal attention over one row's real tokens (n, C), float64.

    Returns y (n, C), the rotated keys (Hkv, n, D) and the values (Hkv, n, D). kv_dtype: round
    the rotated keys and the values to it before attention (a half-precision model's cache).
    """
    wq, wk, wv, wo = (w.double() for w in model.args())
    tokens = tokens.double()
    n = tokens.shape[0]
    H, Hkv, D = model.n_heads, model.n_kv_heads, model.head_dim
    q = (tokens @ wq).view(n, H, D)
    k = (tokens @ wk).view(n, Hkv, D)
    v = (tokens @ wv).view(n, Hkv, D)
    q = rotate(q, torch.arange(n), model.rope_base)  # position p = index among the row's real tokens
    k = rotate(k, torch.arange(n), model.rope_base)
    if kv_dtype is not None:
        k, v = k.to(kv_dtype).double(), v.to(kv_dtype).double()
    heads = []
    for h in range(H):
        g = h // (H // Hkv)
        scores = (q[:, h] @ k[:, g].T) / D**0.5  # (n, n)
        scores = scores.masked_fill(torch.ones(n, n, dtype=torch.bool).triu(1), float("-inf"))
        heads.append(torch.softmax(scores, dim=-1) @ v[:, g])  # (n, D)
    y = torch.cat(heads, dim=-1) @ wo
    return y, k.transpose(0, 1), v.transpose(0, 1)


@dataclass
class Expected:
    y: Tensor  # (B, T, C) float64, zeros at padding
    k: Tensor  # (B, Hkv, T, D) float64 rotated keys, zeros at padding
    v: Tensor  # (B, Hkv, T, D) float64, zeros at padding
    mask: Tensor  # (B, T) bool


def full_forward(model: Model, x: Tensor, mask: Tensor | None = None, kv_dtype: torch.dtype | None = None) -> Expected:
    """The full causal forward of a padded batch x (B, T, C) with mask (B, T) (None: no padding)."""
    B, T, C = x.shape
    if mask is None:
        mask = torch.ones(B, T, dtype=torch.bool)
    Hkv, D = model.n_kv_heads, model.head_dim
    y = torch.zeros(B, T, C, dtype=torch.float64)
    k = torch.zeros(B, Hkv, T, D, dtype=torch.float64)
    v = torch.zeros(B, Hkv, T, D, dtype=torch.float64)
    for b in range(B):
        where = mask[b].nonzero().flatten()
        if len(where) == 0:
            continue
        yb, kb, vb = row_forward(model, x[b, where], kv_dtype)
        y[b, where] = yb
        k[b, :, where] = kb
        v[b, :, where] = vb
    return Expected(y, k, v, mask.clone())


def decoded(
    model: Model, x: Tensor, mask: Tensor | None, steps: Tensor, kv_dtype: torch.dtype | None = None
) -> list[Expected]:
    """Expected states after each decode step: steps (B, S, C) appended one column at a time."""
    B = x.shape[0]
    if mask is None:
        mask = torch.ones(x.shape[:2], dtype=torch.bool)
    out = []
    for s in range(steps.shape[1]):
        xs = torch.cat([x, steps[:, : s + 1]], dim=1)
        ms = torch.cat([mask, torch.ones(B, s + 1, dtype=torch.bool)], dim=1)
        out.append(full_forward(model, xs, ms, kv_dtype))
    return out
