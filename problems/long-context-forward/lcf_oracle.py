"""Checker-side float64 oracle for long-context-forward: the block written the naive way.

Everything is computed in float64 from the given inputs, with the full (H, T, T) score matrix,
so it is only for small T. ``oracle_rows`` computes the output at a few positions of a long
sequence at O(T * C) cost, for the memory tests.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

WEIGHT_NAMES = (
    "attn_norm",
    "wq",
    "wk",
    "wv",
    "wo",
    "mlp_norm",
    "w_gate",
    "w_up",
    "w_down",
)


def make_weights(
    C: int,
    F: int,
    n_heads: int,
    n_kv_heads: int,
    *,
    dtype: torch.dtype = torch.float32,
    generator: torch.Generator | None = None,
    scale: float = 1.0,
) -> dict[str, Tensor]:
    """Random block weights with unit-variance projections (times ``scale`` for wq and wk)."""
    D = C // n_heads

    def randn(*shape: int, std: float) -> Tensor:
        return (torch.randn(*shape, generator=generator, dtype=torch.float64) * std).to(dtype)

    return {
        "attn_norm": (1.0 + 0.2 * torch.randn(C, generator=generator, dtype=torch.float64)).to(dtype),
        "wq": randn(C, n_heads * D, std=scale / math.sqrt(C)),
        "wk": randn(C, n_kv_heads * D, std=scale / math.sqrt(C)),
        "wv": randn(C, n_kv_heads * D, std=1 / math.sqrt(C)),
        "wo": randn(n_heads * D, C, std=1 / math.sqrt(n_heads * D)),
        "mlp_norm": (1.0 + 0.2 * torch.randn(C, generator=generator, dtype=torch.float64)).to(dtype),
        "w_gate": randn(C, F, std=1 / math.sqrt(C)),
        "w_up": randn(C, F, std=1 / math.sqrt(C)),
        "w_down": randn(F, C, std=1 / math.sqrt(F)),
    }


def make_inputs(
    T: int,
    C: int,
    F: int,
    n_heads: int,
    n_kv_heads: int,
    *,
    seed: int,
    dtype: torch.dtype = torch.float32,
    scale: float = 1.0,
    x_std: float = 1.0,
) -> tuple[Tensor, dict[str, Tensor]]:
    """x (T, C) with standard deviation x_std and the block weights, reproducible from seed."""
    generator = torch.Generator().manual_seed(seed)
    weights = make_weights(C, F, n_heads, n_kv_heads, dtype=dtype, generator=generator, scale=scale)
    x = (torch.randn(T, C, generator=generator, dtype=torch.float64) * x_std).to(dtype)
    return x, weights


def _rms_norm(x: Tensor, weight: Tensor, eps: float) -> Tensor:
    return x * torch.rsqrt(x.pow(2).mean(dim=-1, keepdim=True) + eps) * weight


def _rope(x: Tensor, positions: Tensor, rope_base: float) -> Tensor:
    """Rotate-half RoPE of x (..., T, D) at the given float64 positions (T,)."""
    D = x.shape[-1]
    theta = rope_base ** (-torch.arange(0, D, 2, dtype=torch.float64) / D)
    angles = torch.outer(positions, theta)
    angles = torch.cat([angles, angles], dim=-1)  # (T, D)
    x1, x2 = x.chunk(2, dim=-1)
    return x * angles.cos() + torch.cat([-x2, x1], dim=-1) * angles.sin()


def _mlp(h: Tensor, w: dict[str, Tensor], eps: float) -> Tensor:
    hn = _rms_norm(h, w["mlp_norm"], eps)
    gate = hn @ w["w_gate"]
    return h + (gate * torch.sigmoid(gate) * (hn @ w["w_up"])) @ w["w_down"]


def oracle_block_forward(
    x: Tensor,
    weights: dict[str, Tensor],
    *,
    n_heads: int,
    n_kv_heads: int,
    rope_base: float = 10000.0,
    eps: float = 1e-6,
) -> Tensor:
    """The block in float64 with full (H, T, T) scores; returns float64 (T, C)."""
    x = x.double()
    w = {name: weights[name].double() for name in WEIGHT_NAMES}
    T, C = x.shape
    D = C // n_heads
    G = n_heads // n_kv_heads
    positions = torch.arange(T, dtype=torch.float64)
    xn = _rms_norm(x, w["attn_norm"], eps)
    q = (xn @ w["wq"]).view(T, n_heads, D).transpose(0, 1)  # (H, T, D)
    k = (xn @ w["wk"]).view(T, n_kv_heads, D).transpose(0, 1)  # (Hkv, T, D)
    v = (xn @ w["wv"]).view(T, n_kv_heads, D).transpose(0, 1)  # (Hkv, T, D)
    q, k = _rope(q, positions, rope_base), _rope(k, positions, rope_base)
    k = k.repeat_interleave(G, dim=0)  # (H, T, D): query head h reads kv head h // G
    v = v.repeat_interleave(G, dim=0)
    scores = q @ k.transpose(1, 2) / math.sqrt(D)  # (H, T, T)
    future = torch.ones(T, T, dtype=torch.bool).triu(1)
    scores = scores.masked_fill(future, float("-inf"))
    y = torch.softmax(scores, dim=-1) @ v  # (H, T, D)
    h = x + y.transpose(0, 1).reshape(T, n_heads * D) @ w["wo"]
    return _mlp(h, w, eps)


def oracle_rows(
    x: Tensor,
    weights: dict[str, Tensor],
    rows: list[int],
    *,
    n_heads: int,
    n_kv_heads: int,
    rope_base: float = 10000.0,
    eps: float = 1e-6,
) -> Tensor:
    """Output rows at the given positions of a long sequence, float64 (len(rows), C).

    Costs one float64 key/value projection of x plus one (H, T) score row per position.
    """
    w = {name: weights[name].double() for name in WEIGHT_NAMES}
    T, C = x.shape
    D = C // n_heads
    G = n_heads // n_kv_heads
    xn = _rms_norm(x.double(), w["attn_norm"], eps)
    positions = torch.arange(T, dtype=torch.float64)
    k = _rope((xn @ w["wk"]).view(T, n_kv_heads, D).transpose(0, 1), positions, rope_base)
    v = (xn @ w["wv"]).view(T, n_kv_heads, D).transpose(0, 1)  # (Hkv, T, D)
    del xn
    out = []
    for p in rows:
        x_row = x[p : p + 1].double()  # (1, C)
        q = (_rms_norm(x_row, w["attn_norm"], eps) @ w["wq"]).view(1, n_heads, D).transpose(0, 1)
        q = _rope(q, torch.tensor([float(p)], dtype=torch.float64), rope_base)  # (H, 1, D)
        q = q.view(n_kv_heads, G, D)  # (Hkv, G, D)
        scores = q @ k[:, : p + 1].transpose(1, 2) / math.sqrt(D)  # (Hkv, G, p+1)
        y = torch.softmax(scores, dim=-1) @ v[:, : p + 1]  # (Hkv, G, D)
        h = x_row + y.reshape(1, n_heads * D) @ w["wo"]
        out.append(_mlp(h, w, eps))
    return torch.cat(out, dim=0)
