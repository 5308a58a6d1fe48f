"""WRONG: textbook masked attention: a (T, T) score matrix and a (T, T) band mask.

Values are right, and the cache keeps only the last window - 1 positions, but the one-shot
function allocates O(T^2) memory (1 GiB of scores alone at T = 16384) and does O(T^2 * D)
work. Expected verdict: Memory Limit Exceeded (the memory test; memory_mb = 1024).
"""

from __future__ import annotations

import torch
from torch import Tensor


def _check(q: Tensor, k: Tensor, v: Tensor, window: int) -> None:
    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    if q.dim() != 4 or k.dim() != 4 or k.shape != v.shape:
        raise ValueError(f"bad shapes q {tuple(q.shape)}, k {tuple(k.shape)}, v {tuple(v.shape)}")
    B, H, T, D = q.shape
    if k.shape[0] != B or k.shape[2] != T or k.shape[3] != D or H % k.shape[1] != 0:
        raise ValueError(f"k/v {tuple(k.shape)} do not match q {tuple(q.shape)}")


def _attend(q: Tensor, k: Tensor, v: Tensor, window: int, scale: float) -> Tensor:
    """q: (B, H, t, D) at the last t positions of k, v: (B, Hkv, n, D)."""
    B, H, t, D = q.shape
    n = k.shape[2]
    acc = torch.float64 if q.dtype == torch.float64 else torch.float32
    k = k.repeat_interleave(H // k.shape[1], dim=1).to(acc)  # (B, H, n, D)
    v = v.repeat_interleave(H // v.shape[1], dim=1).to(acc)  # (B, H, n, D)
    scores = (q.to(acc) @ k.transpose(-2, -1)) * scale  # (B, H, t, n)
    i = torch.arange(n - t, n).view(t, 1)
    j = torch.arange(n).view(1, n)
    mask = (j <= i) & (j > i - window)  # (t, n)
    scores = scores.masked_fill(~mask, float("-inf"))
    return (torch.softmax(scores, dim=-1) @ v).to(q.dtype)


def sliding_window_attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    window: int,
    *,
    scale: float | None = None,
    block_size: int = 128,
) -> Tensor:
    _check(q, k, v, window)
    scale = q.shape[-1] ** -0.5 if scale is None else scale
    return _attend(q, k, v, window, scale)


class SlidingWindowKVCache:
    def __init__(self, window: int, *, scale: float | None = None) -> None:
        if window < 1:
            raise ValueError(f"window must be >= 1, got {window}")
        self.window = window
        self.scale = scale
        self.k: Tensor | None = None
        self.v: Tensor | None = None
        self.seen = 0

    def __len__(self) -> int:
        return min(self.seen, self.window)

    def step(self, q: Tensor, k: Tensor, v: Tensor) -> Tensor:
        _check(q, k, v, self.window)
        scale = q.shape[-1] ** -0.5 if self.scale is None else self.scale
        k_all = k if self.k is None else torch.cat([self.k, k], dim=2)
        v_all = v if self.v is None else torch.cat([self.v, v], dim=2)
        out = _attend(q, k_all, v_all, self.window, scale)
        self.k, self.v = k_all[:, :, -self.window :], v_all[:, :, -self.window :]
        self.seen += q.shape[2]
        return out
