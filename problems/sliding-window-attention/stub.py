"""Sliding-window attention with a flash-attention-style rolling KV cache.

Fill in `sliding_window_attention` and `SlidingWindowKVCache`; see statement.md.
scaled_dot_product_attention and flex_attention are not available to submissions.
"""

from __future__ import annotations

import torch  # noqa: F401  (you will need it)
from torch import Tensor


def sliding_window_attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    window: int,
    *,
    scale: float | None = None,
    block_size: int = 128,
) -> Tensor:
    """Causal sliding-window attention.

    q: (B, H, T, D); k, v: (B, Hkv, T, D) with H % Hkv == 0. Position i attends to keys
    i - window < j <= i. scale defaults to D ** -0.5. Returns (B, H, T, D) in q's dtype,
    accumulated in fp32 for fp16/bf16 inputs. Never materialises a (T, T) score tensor.
    """
    raise NotImplementedError


class SlidingWindowKVCache:
    """Rolling KV cache for incremental sliding-window attention.

    Keeps the last `window` keys and values in a ring buffer of shape (B, Hkv, window, D), so
    memory is O(window) however long the stream. `step` feeds the next t positions and returns
    what `sliding_window_attention` on the whole sequence so far gives at those positions.
    """

    def __init__(self, window: int, *, scale: float | None = None) -> None:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError

    def step(self, q: Tensor, k: Tensor, v: Tensor) -> Tensor:
        """Feed q: (B, H, t, D), k, v: (B, Hkv, t, D); return the output at these t positions."""
        raise NotImplementedError
