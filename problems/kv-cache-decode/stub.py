"""Llama-style attention (RoPE, grouped-query heads) with a KV cache for a left-padded batch.

Implement prefill over a padded prompt and one-token decode steps over the cache; see the
statement for the exact rules (positions, RoPE layout, masks, dtypes, errors).
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor


@dataclass
class KVCache:
    k: Tensor  # (B, Hkv, T, D) keys after RoPE, in the model's dtype
    v: Tensor  # (B, Hkv, T, D) values, in the model's dtype
    attention_mask: Tensor  # (B, T) bool, True on real tokens, False on padding


class LlamaAttention:
    def __init__(
        self,
        wq: Tensor,
        wk: Tensor,
        wv: Tensor,
        wo: Tensor,
        *,
        n_heads: int,
        n_kv_heads: int,
        rope_base: float = 10000.0,
    ) -> None:
        """wq (C, H*D), wk and wv (C, Hkv*D), wo (H*D, C); D even."""
        raise NotImplementedError

    def prefill(self, x: Tensor, attention_mask: Tensor | None = None) -> tuple[Tensor, KVCache]:
        """x (B, T, C), attention_mask (B, T) bool, left-padded; returns (y (B, T, C), cache)."""
        raise NotImplementedError

    def decode_step(self, x_t: Tensor, cache: KVCache) -> tuple[Tensor, KVCache]:
        """x_t (B, C), one new token per row; returns (y_t (B, C), a new cache one position longer)."""
        raise NotImplementedError
