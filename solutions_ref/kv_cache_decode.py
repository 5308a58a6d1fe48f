"""Llama-style attention (RoPE, grouped-query heads) with a KV cache for a left-padded batch.

`prefill` runs causal attention over a padded prompt and returns the keys and values it saw;
`decode_step` adds one token per row and attends over the cache. Every decoded position equals
the full causal forward over the sequence so far.

RoPE: Su et al., RoFormer, https://arxiv.org/abs/2104.09864 (rotate-half layout as in Llama).
GQA: Ainslie et al., https://arxiv.org/abs/2305.13245.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


@dataclass
class KVCache:
    """What decoding needs from the tokens so far; it carries all the state."""

    k: Tensor  # (B, Hkv, T, D) keys after RoPE, in the model's dtype
    v: Tensor  # (B, Hkv, T, D) values, in the model's dtype
    attention_mask: Tensor  # (B, T) bool, True on real tokens, False on padding


def _compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """Half-precision models compute in fp32; fp32 and fp64 in their own dtype."""
    return torch.float32 if dtype in (torch.float16, torch.bfloat16) else dtype


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


class LlamaAttention:
    """One attention layer: x @ wq, x @ wk, x @ wv, RoPE on q and k, causal GQA, @ wo."""

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
        if not (_is_positive_int(n_heads) and _is_positive_int(n_kv_heads)):
            raise ValueError(f"n_heads and n_kv_heads must be positive ints, got {n_heads!r} and {n_kv_heads!r}")
        if n_heads % n_kv_heads != 0:
            raise ValueError(f"n_heads ({n_heads}) must be a multiple of n_kv_heads ({n_kv_heads})")
        if not _is_number(rope_base) or not math.isfinite(rope_base) or rope_base <= 0:
            raise ValueError(f"rope_base must be a finite number > 0, got {rope_base!r}")
        weights = {"wq": wq, "wk": wk, "wv": wv, "wo": wo}
        for name, w in weights.items():
            if not isinstance(w, Tensor) or w.dim() != 2:
                raise ValueError(f"{name} must be a 2-D tensor, got {getattr(w, 'shape', type(w))}")
            if w.dtype not in FLOAT_DTYPES or w.dtype != wq.dtype:
                raise ValueError(f"the weights must share one floating dtype, got {name} {w.dtype}, wq {wq.dtype}")
        C, HD = wq.shape
        D = HD // n_heads
        if HD != n_heads * D or D % 2 != 0 or D == 0:
            raise ValueError(f"wq {tuple(wq.shape)}: its columns must be n_heads ({n_heads}) times an even head dim")
        for name, shape in (("wk", (C, n_kv_heads * D)), ("wv", (C, n_kv_heads * D)), ("wo", (HD, C))):
            if tuple(weights[name].shape) != shape:
                raise ValueError(f"{name} must have shape {shape}, got {tuple(weights[name].shape)}")
        self.wq, self.wk, self.wv, self.wo = wq, wk, wv, wo
        self.n_heads, self.n_kv_heads, self.head_dim = n_heads, n_kv_heads, D
        self.rope_base = rope_base
        self.dtype = wq.dtype

    # -- the two public steps ------------------------------------------------------------------

    def prefill(self, x: Tensor, attention_mask: Tensor | None = None) -> tuple[Tensor, KVCache]:
        """Causal attention over a left-padded prompt x (B, T, C); returns (y (B, T, C), cache)."""
        self._check_x(x, dims=3, name="x")
        B, T, _ = x.shape
        if B < 1 or T < 1:
            raise ValueError(f"x must have B >= 1 and T >= 1, got {tuple(x.shape)}")
        if attention_mask is None:
            attention_mask = torch.ones(B, T, dtype=torch.bool)
        if not isinstance(attention_mask, Tensor) or attention_mask.dtype != torch.bool:
            raise ValueError(f"attention_mask must be a bool tensor, got {getattr(attention_mask, 'dtype', None)}")
        if tuple(attention_mask.shape) != (B, T):
            raise ValueError(f"attention_mask must have shape {(B, T)}, got {tuple(attention_mask.shape)}")
        # left padding: once a row has a real token, every later one is real (mask is non-decreasing)
        if (attention_mask[:, 1:] < attention_mask[:, :-1]).any():
            raise ValueError("attention_mask must be left-padded: a row has padding after a real token")
        mask = attention_mask.clone()
        # a token's position is the number of real tokens before it in its row (pads get 0, unused)
        positions = (mask.cumsum(dim=1) - 1).clamp_min(0)  # (B, T)
        # x at padding may hold any finite value (6e4 in float16, 3e38 in float32): zeroed, so that
        # k and v there are 0, not inf, and the cache holds only finite values
        x = x * mask[..., None]
        q, k, v = self._project(x, positions)
        cache = KVCache(k=k.to(self.dtype), v=v.to(self.dtype), attention_mask=mask)
        # key j is visible to query i when j <= i and j is a real token
        causal = torch.ones(T, T, dtype=torch.bool).tril()
        visible = causal[None] & mask[:, None, :]  # (B, T, T)
        y = self._attend(q, cache.k, cache.v, visible)
        return y, cache

    def decode_step(self, x_t: Tensor, cache: KVCache) -> tuple[Tensor, KVCache]:
        """One new real token per row, x_t (B, C); returns (y_t (B, C), a new cache one longer)."""
        self._check_cache(cache)
        self._check_x(x_t, dims=2, name="x_t")
        B = cache.attention_mask.shape[0]
        if x_t.shape[0] != B:
            raise ValueError(f"x_t has batch {x_t.shape[0]}, the cache {B}")
        positions = cache.attention_mask.sum(dim=1, keepdim=True)  # (B, 1): real tokens so far
        q, k_new, v_new = self._project(x_t[:, None, :], positions)  # q (B, H, 1, D)
        k = torch.cat([cache.k, k_new.to(self.dtype)], dim=2)  # (B, Hkv, T + 1, D)
        v = torch.cat([cache.v, v_new.to(self.dtype)], dim=2)
        mask = torch.cat([cache.attention_mask, torch.ones(B, 1, dtype=torch.bool)], dim=1)  # (B, T + 1)
        # the new token is the last one: it sees every real token, no causal mask needed
        y = self._attend(q, k, v, mask[:, None, :])  # (B, 1, C)
        return y[:, 0], KVCache(k=k, v=v, attention_mask=mask)

    # -- the layer's maths ---------------------------------------------------------------------

    def _project(self, x: Tensor, positions: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """q (B, H, T, D), k and v (B, Hkv, T, D) in the compute dtype, RoPE applied to q and k."""
        dtype = _compute_dtype(self.dtype)
        B, T, _ = x.shape
        H, Hkv, D = self.n_heads, self.n_kv_heads, self.head_dim
        x = x.to(dtype)
        q = (x @ self.wq.to(dtype)).view(B, T, H, D).transpose(1, 2)  # (B, H, T, D)
        k = (x @ self.wk.to(dtype)).view(B, T, Hkv, D).transpose(1, 2)  # (B, Hkv, T, D)
        v = (x @ self.wv.to(dtype)).view(B, T, Hkv, D).transpose(1, 2)  # (B, Hkv, T, D)
        cos, sin = self._rope_tables(positions, dtype)  # (B, 1, T, D)
        return _rotate(q, cos, sin), _rotate(k, cos, sin), v

    def _rope_tables(self, positions: Tensor, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
        """cos and sin of p * theta_i, (B, 1, T, D), pair i at columns i and i + D/2."""
        D = self.head_dim
        # float64 angles: exact for float64 models, and no half-precision positions
        theta = self.rope_base ** (-torch.arange(0, D, 2, dtype=torch.float64) / D)  # (D/2,)
        angles = positions.to(torch.float64)[..., None] * theta  # (B, T, D/2)
        angles = torch.cat([angles, angles], dim=-1)[:, None]  # (B, 1, T, D)
        return angles.cos().to(dtype), angles.sin().to(dtype)

    def _attend(self, q: Tensor, k: Tensor, v: Tensor, visible: Tensor) -> Tensor:
        """softmax(q k^T / sqrt(D)) v over the visible keys, heads concatenated, @ wo: (B, Tq, C).

        visible is (B, Tq, Tk). A query with no visible key (a padding position) gets 0.
        """
        dtype = q.dtype
        B, H, Tq, D = q.shape
        group = H // self.n_kv_heads
        # query head h reads kv head h // group
        k = k.to(dtype).repeat_interleave(group, dim=1)  # (B, H, Tk, D)
        v = v.to(dtype).repeat_interleave(group, dim=1)  # (B, H, Tk, D)
        scores = (q @ k.transpose(-2, -1)) * D**-0.5  # (B, H, Tq, Tk)
        scores = scores.masked_fill(~visible[:, None], float("-inf"))
        # subtract the row max (0 for a row with nothing visible, so exp gives 0, not nan)
        m = scores.amax(dim=-1, keepdim=True)
        m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
        p = torch.exp(scores - m)
        # the softmax denominator: >= 1 when a key is visible (the max gives exp(0)), else 0
        l = p.sum(dim=-1, keepdim=True)  # noqa: E741 (flash attention's name)
        out = (p @ v) / l.clamp_min(torch.finfo(l.dtype).tiny)  # (B, H, Tq, D); 0 with nothing visible
        out = out.transpose(1, 2).reshape(B, Tq, H * D)  # (B, Tq, H*D), heads in order
        return (out @ self.wo.to(dtype)).to(self.dtype)

    # -- validation ----------------------------------------------------------------------------

    def _check_x(self, x: Tensor, *, dims: int, name: str) -> None:
        C = self.wq.shape[0]
        if not isinstance(x, Tensor) or x.dim() != dims or x.shape[-1] != C:
            raise ValueError(f"{name} must be {dims}-D with last dim C = {C}, got {getattr(x, 'shape', type(x))}")
        if x.dtype != self.dtype:
            raise ValueError(f"{name} has dtype {x.dtype}, the weights {self.dtype}")

    def _check_cache(self, cache: KVCache) -> None:
        k, v, mask = cache.k, cache.v, cache.attention_mask
        if not all(isinstance(t, Tensor) for t in (k, v, mask)):
            raise ValueError("cache.k, cache.v and cache.attention_mask must be tensors")
        if k.dim() != 4 or k.shape[1] != self.n_kv_heads or k.shape[3] != self.head_dim:
            raise ValueError(f"cache.k must be (B, {self.n_kv_heads}, T, {self.head_dim}), got {tuple(k.shape)}")
        if v.shape != k.shape or k.dtype != self.dtype or v.dtype != self.dtype:
            raise ValueError(f"cache.v {tuple(v.shape)} {v.dtype} must match cache.k {tuple(k.shape)} {self.dtype}")
        if mask.dtype != torch.bool or tuple(mask.shape) != (k.shape[0], k.shape[2]):
            raise ValueError(f"cache.attention_mask must be bool {(k.shape[0], k.shape[2])}, got {tuple(mask.shape)}")


def _rotate(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """RoPE, rotate-half layout: x * cos + rotate_half(x) * sin, rotate_half(x) = (-x2, x1)."""
    x1, x2 = x.chunk(2, dim=-1)
    return x * cos + torch.cat([-x2, x1], dim=-1) * sin
