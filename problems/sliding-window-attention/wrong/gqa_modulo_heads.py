"""WRONG: grouped-query heads mapped with h % Hkv instead of h // (H // Hkv).

k and v are tiled with .repeat (kv heads 0, 1, 0, 1, ...) rather than repeated per
group with .repeat_interleave (0, 0, 1, 1, ...). Right when H == Hkv or Hkv == 1.
Expected verdict: Wrong Answer.
"""

from __future__ import annotations

import torch
from torch import Tensor


def _check_qkv(q: Tensor, k: Tensor, v: Tensor) -> None:
    """Raise ValueError unless q is (B, H, T, D) and k, v are (B, Hkv, T, D) with H % Hkv == 0."""
    if q.dim() != 4 or k.dim() != 4 or v.dim() != 4:
        raise ValueError(
            f"q, k, v must be 4-D (B, H, T, D) / (B, Hkv, T, D); got q {tuple(q.shape)}, "
            f"k {tuple(k.shape)}, v {tuple(v.shape)}"
        )
    if k.shape != v.shape:
        raise ValueError(f"k and v must have the same shape; got k {tuple(k.shape)}, v {tuple(v.shape)}")
    B, H, T, D = q.shape
    if k.shape[0] != B or k.shape[2] != T or k.shape[3] != D:
        raise ValueError(f"k, v must be (B={B}, Hkv, T={T}, D={D}) to match q {tuple(q.shape)}; got {tuple(k.shape)}")
    Hkv = k.shape[1]
    if Hkv == 0 or H % Hkv != 0:
        raise ValueError(f"query heads H={H} must be a multiple of key/value heads Hkv={Hkv}")
    if k.dtype != q.dtype or v.dtype != q.dtype:
        raise ValueError(f"q, k, v must share a dtype; got {q.dtype}, {k.dtype}, {v.dtype}")


def _compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """fp32 accumulation for fp16/bf16/fp32 inputs, fp64 stays fp64."""
    return torch.float64 if dtype == torch.float64 else torch.float32


def _banded_attention(
    q: Tensor, k: Tensor, v: Tensor, window: int, scale: float, block_size: int, q_offset: int
) -> Tensor:
    """Blockwise sliding-window attention of q against the keys k, v.

    q: (B, H, Tq, D); k, v: (B, Hkv, Tk, D) with Tk = q_offset + Tq: query row i sits at key
    position q_offset + i. Returns (B, H, Tq, D) in q's dtype.
    """
    B, H, Tq, D = q.shape
    k = k.repeat(1, H // k.shape[1], 1, 1)  # one kv head per query head
    v = v.repeat(1, H // v.shape[1], 1, 1)
    Hkv = H
    G = 1
    acc_dtype = _compute_dtype(q.dtype)
    q_grouped = q.view(B, Hkv, G, Tq, D)  # (B, Hkv, G, Tq, D): heads h = kv * G + g
    out = torch.empty(B, Hkv, G, Tq, D, dtype=q.dtype)
    for q_start in range(0, Tq, block_size):
        q_end = min(q_start + block_size, Tq)
        bq = q_end - q_start
        first_pos, last_pos = q_offset + q_start, q_offset + q_end - 1
        q_blk = q_grouped[:, :, :, q_start:q_end].to(acc_dtype) * scale
        q_blk = q_blk.reshape(B, Hkv, G * bq, D)  # (B, Hkv, G*bq, D)
        q_pos = torch.arange(first_pos, last_pos + 1).view(bq, 1)  # (bq, 1)

        m = torch.full((B, Hkv, G * bq), float("-inf"), dtype=acc_dtype)
        l = torch.zeros(B, Hkv, G * bq, dtype=acc_dtype)
        acc = torch.zeros(B, Hkv, G * bq, D, dtype=acc_dtype)
        # only the keys in (first_pos - window, last_pos] can be seen by this query block
        for k_start in range(max(0, first_pos - window + 1), last_pos + 1, block_size):
            k_end = min(k_start + block_size, last_pos + 1)
            k_blk = k[:, :, k_start:k_end].to(acc_dtype)  # (B, Hkv, bk, D)
            v_blk = v[:, :, k_start:k_end].to(acc_dtype)  # (B, Hkv, bk, D)
            s = q_blk @ k_blk.transpose(-2, -1)  # (B, Hkv, G*bq, bk)
            # mask only the blocks that cross the band's edges (diagonal or window start)
            if k_end - 1 > first_pos or k_start <= last_pos - window:
                k_pos = torch.arange(k_start, k_end).view(1, -1)  # (1, bk)
                visible = (k_pos <= q_pos) & (k_pos > q_pos - window)  # (bq, bk)
                s.view(B, Hkv, G, bq, k_end - k_start).masked_fill_(~visible, float("-inf"))
            m_new = torch.maximum(m, s.amax(dim=-1))
            # a row that has seen no key yet keeps m = -inf; shift by 0 to avoid inf - inf
            m_shift = torch.where(torch.isinf(m_new), torch.zeros_like(m_new), m_new)
            p = torch.exp(s - m_shift.unsqueeze(-1))  # (B, Hkv, G*bq, bk)
            # rescale l and acc by alpha = exp(m_old - m_new)
            alpha = torch.exp(m - m_shift)
            l = alpha * l + p.sum(dim=-1)
            acc = alpha.unsqueeze(-1) * acc + p @ v_blk
            m = m_new
        o = acc / l.unsqueeze(-1)  # epilogue: normalise by the softmax denominator
        out[:, :, :, q_start:q_end] = o.view(B, Hkv, G, bq, D).to(q.dtype)
    return out.view(B, H, Tq, D)


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
    if window < 1:
        raise ValueError(f"window must be >= 1; got {window}")
    if block_size < 1:
        raise ValueError(f"block_size must be >= 1; got {block_size}")
    _check_qkv(q, k, v)
    scale = q.shape[-1] ** -0.5 if scale is None else scale
    return _banded_attention(q, k, v, window, scale, block_size, q_offset=0)


class SlidingWindowKVCache:
    """Rolling KV cache for incremental sliding-window attention.

    Keeps the last `window` keys and values in a ring buffer of shape (B, Hkv, window, D), so
    memory is O(window) however long the stream. `step` feeds the next t positions and returns
    what `sliding_window_attention` on the whole sequence so far gives at those positions.
    """

    def __init__(self, window: int, *, scale: float | None = None) -> None:
        if window < 1:
            raise ValueError(f"window must be >= 1; got {window}")
        self.window = window
        self.scale = scale
        self.block_size = 128
        self._k: Tensor | None = None  # (B, Hkv, window, D) ring buffer
        self._v: Tensor | None = None  # (B, Hkv, window, D) ring buffer
        self._pos = 0  # positions fed so far; position p lives in slot p % window

    def __len__(self) -> int:
        return min(self._pos, self.window)

    def _allocate(self, k: Tensor) -> None:
        B, Hkv, _, D = k.shape
        self._k = torch.zeros(B, Hkv, self.window, D, dtype=k.dtype)
        self._v = torch.zeros(B, Hkv, self.window, D, dtype=k.dtype)

    def step(self, q: Tensor, k: Tensor, v: Tensor) -> Tensor:
        """Feed q: (B, H, t, D), k, v: (B, Hkv, t, D); return the output at these t positions."""
        _check_qkv(q, k, v)
        if q.shape[2] < 1:
            raise ValueError(f"step needs t >= 1 new positions; got q {tuple(q.shape)}")
        if self._k is None:
            self._allocate(k)
        elif (k.shape[0], k.shape[1], k.shape[3]) != (self._k.shape[0], self._k.shape[1], self._k.shape[3]) or (
            k.dtype != self._k.dtype
        ):
            raise ValueError(
                f"k {tuple(k.shape)} {k.dtype} does not match the cache's (B, Hkv, *, D) = "
                f"{tuple(self._k.shape)} {self._k.dtype}"
            )
        scale = q.shape[-1] ** -0.5 if self.scale is None else self.scale
        t = q.shape[2]
        if t == 1:
            return self._decode(q, k, v, scale)

        # prefill chunk: the last window - 1 cached positions in order, then the new ones
        n_hist = min(self._pos, self.window - 1)
        slots = torch.arange(self._pos - n_hist, self._pos) % self.window
        k_all = torch.cat([self._k.index_select(2, slots), k], dim=2)  # (B, Hkv, n_hist + t, D)
        v_all = torch.cat([self._v.index_select(2, slots), v], dim=2)  # (B, Hkv, n_hist + t, D)
        out = _banded_attention(q, k_all, v_all, self.window, scale, self.block_size, q_offset=n_hist)
        self._write(k, v)
        return out

    def _decode(self, q: Tensor, k: Tensor, v: Tensor, scale: float) -> Tensor:
        """One new position: after writing it, the filled ring slots are exactly its window."""
        self._write(k, v)
        B, H, _, D = q.shape
        n = len(self)
        Hkv = H
        acc_dtype = _compute_dtype(q.dtype)
        q_grouped = q.reshape(B, Hkv, H // Hkv, D).to(acc_dtype) * scale  # (B, Hkv, G, D)
        k_ring = self._k[:, :, :n].repeat(1, H // self._k.shape[1], 1, 1).to(acc_dtype)  # (B, Hkv, n, D)
        v_ring = self._v[:, :, :n].repeat(1, H // self._v.shape[1], 1, 1).to(acc_dtype)  # (B, Hkv, n, D)
        s = q_grouped @ k_ring.transpose(-2, -1)  # (B, Hkv, G, n); slot order is irrelevant
        m = s.amax(dim=-1, keepdim=True)
        p = torch.exp(s - m)
        o = (p @ v_ring) / p.sum(dim=-1, keepdim=True)  # (B, Hkv, G, D)
        return o.view(B, H, 1, D).to(q.dtype)

    def _write(self, k: Tensor, v: Tensor) -> None:
        """Store the newest min(t, window) positions in their ring slots."""
        t = k.shape[2]
        n_new = min(t, self.window)
        slots = torch.arange(self._pos + t - n_new, self._pos + t) % self.window
        self._k.index_copy_(2, slots, k[:, :, t - n_new :])
        self._v.index_copy_(2, slots, v[:, :, t - n_new :])
        self._pos += t
