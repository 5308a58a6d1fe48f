# verdict: Memory Limit Exceeded
# bug: the textbook block: it builds the full (H, T, T) score matrix (and (T, F) MLP activations), so it cannot run at long context
# why-a-file: a whole different implementation (no chunks, no online softmax), not a change to the reference
# measured: in the memory test (T = 8192, H = 4) it needs 2.1 GiB on top of the worker's ~0.25 GiB (in-process, no limit), 2.3x the 1024 MiB limit; the judge stops it at its first (H, T, T) tensors (resident 1029 MiB > 1024 MiB, Memory Limit Exceeded); the reference adds 38 MiB
"""The naive block: correct, but the (H, T, T) float32 scores of the memory test (T = 8192, H = 4)
are 1 GiB per tensor, and softmax and masking hold several at once.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def rms_norm(x, weight, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


def rope(x, base):
    T, D = x.shape[-2], x.shape[-1]
    inv_freq = base ** (-torch.arange(0, D, 2, dtype=torch.float64) / D)
    angles = torch.outer(torch.arange(T, dtype=torch.float64), inv_freq)
    angles = torch.cat([angles, angles], dim=-1)
    cos, sin = angles.cos().to(x.dtype), angles.sin().to(x.dtype)
    x1, x2 = x.chunk(2, dim=-1)
    return x * cos + torch.cat([-x2, x1], dim=-1) * sin


def block_forward(x, weights, *, n_heads, n_kv_heads, rope_base=10000.0, eps=1e-6, chunk_size=1024):
    if x.dim() != 2 or not x.is_floating_point() or chunk_size < 1:
        raise ValueError(
            f"x must be a floating-point (T, C) and chunk_size >= 1, got {x.dtype} {tuple(x.shape)}, {chunk_size}"
        )
    T, C = x.shape
    if n_heads < 1 or n_kv_heads < 1 or n_heads % n_kv_heads or C % n_heads or (C // n_heads) % 2:
        raise ValueError(f"bad n_heads={n_heads}, n_kv_heads={n_kv_heads} for C={C}")
    D = C // n_heads
    F_dim = weights["w_gate"].shape[-1] if "w_gate" in weights else -1
    shapes = {"attn_norm": (C,), "mlp_norm": (C,), "wq": (C, C), "wk": (C, n_kv_heads * D), "wv": (C, n_kv_heads * D)}
    shapes |= {"wo": (C, C), "w_gate": (C, F_dim), "w_up": (C, F_dim), "w_down": (F_dim, C)}
    for name, shape in shapes.items():
        if name not in weights or tuple(weights[name].shape) != shape:
            raise ValueError(f"weights[{name!r}] must be {shape}")
    dtype = x.dtype
    if dtype in (torch.float16, torch.bfloat16):
        x = x.float()
        weights = {k: v.float() for k, v in weights.items()}
    xn = rms_norm(x, weights["attn_norm"], eps)
    q = (xn @ weights["wq"]).view(T, n_heads, D).transpose(0, 1)
    k = (xn @ weights["wk"]).view(T, n_kv_heads, D).transpose(0, 1)
    v = (xn @ weights["wv"]).view(T, n_kv_heads, D).transpose(0, 1)
    q, k = rope(q, rope_base), rope(k, rope_base)
    k = k.repeat_interleave(n_heads // n_kv_heads, dim=0)
    v = v.repeat_interleave(n_heads // n_kv_heads, dim=0)
    scores = q @ k.transpose(1, 2) / math.sqrt(D)
    mask = torch.ones(T, T, dtype=torch.bool).triu(1)
    scores = scores.masked_fill(mask, float("-inf"))
    attn = torch.softmax(scores, dim=-1) @ v
    h = x + attn.transpose(0, 1).reshape(T, C) @ weights["wo"]
    hn = rms_norm(h, weights["mlp_norm"], eps)
    out = h + (F.silu(hn @ weights["w_gate"]) * (hn @ weights["w_up"])) @ weights["w_down"]
    return out.to(dtype)
