"""Checker-side float64 oracles and input builders for the sliding-window-attention tests.

Never imported by the worker. `naive_attention` is the definition (a (T, T) boolean mask);
`banded_attention` gathers each row's `window` keys instead, for sequences too long for a
(T, T) float64 matrix. The repo tests check that the two agree.
"""

from __future__ import annotations

import torch
from torch import Tensor


def band_mask(T: int, window: int) -> Tensor:
    """(T, T) bool: True where key j is visible to query i, i.e. i - window < j <= i."""
    i = torch.arange(T).view(T, 1)
    j = torch.arange(T).view(1, T)
    return (j <= i) & (j > i - window)


def _expand_kv(x: Tensor, H: int) -> Tensor:
    """(B, Hkv, T, D) -> (B, H, T, D): query head h reads kv head h // (H // Hkv)."""
    return x.repeat_interleave(H // x.shape[1], dim=1)


def naive_attention(q: Tensor, k: Tensor, v: Tensor, window: int, scale: float | None = None) -> Tensor:
    """Float64 sliding-window attention through a full (T, T) mask; returns q's dtype."""
    B, H, T, D = q.shape
    scale = D**-0.5 if scale is None else scale
    q64, k64, v64 = q.double(), _expand_kv(k.double(), H), _expand_kv(v.double(), H)
    s = (q64 @ k64.transpose(-2, -1)) * scale  # (B, H, T, T)
    s = s.masked_fill(~band_mask(T, window), float("-inf"))
    return (torch.softmax(s, dim=-1) @ v64).to(q.dtype)


def banded_attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    window: int,
    scale: float | None = None,
    rows: slice | None = None,
) -> Tensor:
    """Float64 sliding-window attention gathering a (T, window) band; optional row slice."""
    B, H, T, D = q.shape
    scale = D**-0.5 if scale is None else scale
    w = min(window, T)
    rows = rows or slice(0, T)
    positions = torch.arange(T)[rows]  # query positions to compute
    keys = positions.view(-1, 1) - torch.arange(w - 1, -1, -1).view(1, w)  # (R, w)
    valid = keys >= 0
    keys = keys.clamp(min=0)
    k64, v64 = _expand_kv(k.double(), H), _expand_kv(v.double(), H)
    k_band = k64[:, :, keys]  # (B, H, R, w, D)
    v_band = v64[:, :, keys]  # (B, H, R, w, D)
    q64 = q.double()[:, :, rows]  # (B, H, R, D)
    s = torch.einsum("bhrd,bhrwd->bhrw", q64, k_band) * scale
    s = s.masked_fill(~valid, float("-inf"))
    out = torch.einsum("bhrw,bhrwd->bhrd", torch.softmax(s, dim=-1), v_band)
    return out.to(q.dtype)


def make_qkv(
    B: int,
    H: int,
    Hkv: int,
    T: int,
    D: int,
    *,
    seed: int,
    dtype: torch.dtype = torch.float32,
    magnitude: float = 1.0,
) -> tuple[Tensor, Tensor, Tensor]:
    """Seeded standard-normal q (B, H, T, D), k, v (B, Hkv, T, D); q scaled by `magnitude`."""
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(B, H, T, D, generator=g, dtype=torch.float64) * magnitude
    k = torch.randn(B, Hkv, T, D, generator=g, dtype=torch.float64)
    v = torch.randn(B, Hkv, T, D, generator=g, dtype=torch.float64)
    return q.to(dtype), k.to(dtype), v.to(dtype)
