"""Memory-efficient forward pass of one Llama-style decoder block for long contexts.

The block is pre-norm: ``h = x + Attn(RMSNorm(x))`` and ``out = h + MLP(RMSNorm(h))``, with
rotary position embeddings (RoPE, rotate-half convention), causal grouped-query attention and
a SwiGLU MLP. Attention never materialises the (T, T) score matrix: each chunk of queries
streams over key blocks with the online softmax of FlashAttention (running max ``m``, running
normaliser ``l``, unnormalised output ``acc``), and the MLP runs on one chunk of positions at a
time, so no (T, F) activation exists either. Peak memory beyond inputs, weights and output is the
rotated keys and values, O(T * C), plus O(chunk_size * (C + F) + chunk_size^2 * H) of
temporaries.

Papers:
    FlashAttention, Dao et al. 2022, https://arxiv.org/abs/2205.14135
    RoFormer (RoPE), Su et al. 2021, https://arxiv.org/abs/2104.09864
    GQA, Ainslie et al. 2023, https://arxiv.org/abs/2305.13245
    GLU variants (SwiGLU), Shazeer 2020, https://arxiv.org/abs/2002.05202
    Root mean square layer normalization, Zhang & Sennrich 2019, https://arxiv.org/abs/1910.07467
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
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


def _rms_norm(x: Tensor, weight: Tensor, eps: float) -> Tensor:
    """RMSNorm over the last dim: ``x * rsqrt(mean(x^2) + eps) * weight``."""
    return x * torch.rsqrt(x.pow(2).mean(dim=-1, keepdim=True) + eps) * weight


def _rope_cos_sin(start: int, end: int, head_dim: int, rope_base: float, dtype: torch.dtype) -> tuple[Tensor, Tensor]:
    """cos and sin of the RoPE angles ``p * theta_i`` for positions start..end-1, each (Tc, D).

    The angles are computed in float64: in float32, ``p * theta_0`` at p = 32767 is off by
    ~2e-3 radians, which is above the float32 tolerance of the whole block.
    """
    i = torch.arange(0, head_dim, 2, dtype=torch.float64)
    theta = rope_base ** (-i / head_dim)  # (D/2,)
    positions = torch.arange(start, end, dtype=torch.float64)
    angles = torch.outer(positions, theta)  # (Tc, D/2)
    angles = torch.cat([angles, angles], dim=-1)  # (Tc, D): rotate-half pairs i and i + D/2
    return angles.cos().to(dtype), angles.sin().to(dtype)


def _apply_rope(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """Rotate pairs (x_i, x_{i+D/2}) of x (..., Tc, D) by the angles behind cos, sin (Tc, D)."""
    x1, x2 = x.chunk(2, dim=-1)
    rotated = torch.cat([-x2, x1], dim=-1)
    return x * cos + rotated * sin


def _swiglu_mlp(x: Tensor, w_gate: Tensor, w_up: Tensor, w_down: Tensor) -> Tensor:
    """``(silu(x @ w_gate) * (x @ w_up)) @ w_down`` for x (Tc, C), with one (Tc, F) buffer reused."""
    gate = F.silu(x @ w_gate, inplace=True)  # (Tc, F)
    return gate.mul_(x @ w_up) @ w_down


def _project_keys_values(
    x: Tensor,
    weights: dict[str, Tensor],
    *,
    n_kv_heads: int,
    head_dim: int,
    rope_base: float,
    eps: float,
    chunk_size: int,
) -> tuple[Tensor, Tensor]:
    """Rotated keys and values for every position, each (Hkv, T, D), computed chunk by chunk."""
    T = x.shape[0]
    k_cache = x.new_empty(n_kv_heads, T, head_dim)
    v_cache = x.new_empty(n_kv_heads, T, head_dim)
    for start in range(0, T, chunk_size):
        end = min(start + chunk_size, T)
        xn = _rms_norm(x[start:end], weights["attn_norm"], eps)  # (Tc, C)
        k = (xn @ weights["wk"]).view(end - start, n_kv_heads, head_dim).transpose(0, 1)
        v = (xn @ weights["wv"]).view(end - start, n_kv_heads, head_dim).transpose(0, 1)
        cos, sin = _rope_cos_sin(start, end, head_dim, rope_base, x.dtype)
        k_cache[:, start:end] = _apply_rope(k, cos, sin)  # (Hkv, Tc, D)
        v_cache[:, start:end] = v  # (Hkv, Tc, D)
    return k_cache, v_cache


def _causal_attention_chunk(
    q: Tensor, k_cache: Tensor, v_cache: Tensor, q_start: int, chunk_size: int, workspace: Tensor
) -> Tensor:
    """Causal attention of queries q (Hkv, G, Tc, D) at positions q_start.. over the cache.

    Key blocks of ``chunk_size`` positions are visited left to right with the online softmax;
    blocks entirely in the future of the chunk are skipped. Each block's scores are written into
    ``workspace`` (Hkv * G * chunk_size^2 elements, reused) rather than a fresh tensor.
    """
    Hkv, G, Tc, D = q.shape
    q_end = q_start + Tc
    # the G query heads of a group share their key/value head: stack them as rows
    q = q.reshape(Hkv, G * Tc, D) * D**-0.5  # (Hkv, G*Tc, D)
    q_pos = torch.arange(q_start, q_end).repeat(G)  # (G*Tc,)
    m = q.new_full((Hkv, G * Tc, 1), float("-inf"))  # running max of the scores
    l = q.new_zeros((Hkv, G * Tc, 1))  # noqa: E741 (the paper's l): running sum of exp(score - m)
    acc = q.new_zeros((Hkv, G * Tc, D))  # running sum of exp(score - m) * v
    for k_start in range(0, q_end, chunk_size):
        k_end = min(k_start + chunk_size, q_end)
        s = workspace[: Hkv * G * Tc * (k_end - k_start)].view(Hkv, G * Tc, k_end - k_start)
        torch.bmm(q, k_cache[:, k_start:k_end].transpose(1, 2), out=s)  # (Hkv, G*Tc, Tk)
        if k_end - 1 > q_start:  # the block reaches past the chunk's first query: mask the future
            k_pos = torch.arange(k_start, k_end)
            s.masked_fill_(k_pos[None, :] > q_pos[:, None], float("-inf"))
        m_new = torch.maximum(m, s.amax(dim=-1, keepdim=True))
        alpha = torch.exp(m - m_new)  # rescale what was accumulated under the old max
        p = s.sub_(m_new).exp_()  # (Hkv, G*Tc, Tk), in place: s is not needed any more
        l = l.mul_(alpha).add_(p.sum(dim=-1, keepdim=True))  # noqa: E741
        acc = acc.mul_(alpha).baddbmm_(p, v_cache[:, k_start:k_end])
        m = m_new
    return (acc / l).view(Hkv, G, Tc, D)


def _check_inputs(
    x: Tensor,
    weights: dict[str, Tensor],
    n_heads: int,
    n_kv_heads: int,
    chunk_size: int,
) -> None:
    """Raise ValueError naming the offending shape or argument."""
    if x.dim() != 2:
        raise ValueError(f"x must be (T, C), got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise ValueError(f"x must be a floating-point tensor, got {x.dtype}")
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    if n_heads < 1 or n_kv_heads < 1 or n_heads % n_kv_heads != 0:
        raise ValueError(f"n_heads must be a positive multiple of n_kv_heads, got {n_heads} and {n_kv_heads}")
    C = x.shape[1]
    if C % n_heads != 0 or (C // n_heads) % 2 != 0:
        raise ValueError(f"C = {C} must be n_heads = {n_heads} times an even head dim D")
    missing = [name for name in WEIGHT_NAMES if name not in weights]
    if missing:
        raise ValueError(f"weights is missing {missing}")
    D = C // n_heads
    F_dim = weights["w_gate"].shape[-1]
    expected = {
        "attn_norm": (C,),
        "wq": (C, n_heads * D),
        "wk": (C, n_kv_heads * D),
        "wv": (C, n_kv_heads * D),
        "wo": (n_heads * D, C),
        "mlp_norm": (C,),
        "w_gate": (C, F_dim),
        "w_up": (C, F_dim),
        "w_down": (F_dim, C),
    }
    for name, shape in expected.items():
        if tuple(weights[name].shape) != shape:
            raise ValueError(
                f"weights[{name!r}] must be {shape} for x {tuple(x.shape)}, n_heads={n_heads},"
                f" n_kv_heads={n_kv_heads}; got {tuple(weights[name].shape)}"
            )


def block_forward(
    x: Tensor,
    weights: dict[str, Tensor],
    *,
    n_heads: int,
    n_kv_heads: int,
    rope_base: float = 10000.0,
    eps: float = 1e-6,
    chunk_size: int = 1024,
) -> Tensor:
    """One pre-norm Llama block on x (T, C) -> (T, C), chunk_size positions at a time.

    Half-precision inputs are computed in float32 and the result is cast back to x.dtype.
    """
    _check_inputs(x, weights, n_heads, n_kv_heads, chunk_size)
    T, C = x.shape
    D = C // n_heads
    G = n_heads // n_kv_heads  # query heads per key/value head
    compute_dtype = torch.float32 if x.dtype in (torch.float16, torch.bfloat16) else x.dtype
    w = {name: weights[name].to(compute_dtype) for name in WEIGHT_NAMES}
    x32 = x.to(compute_dtype)  # no copy unless x is half precision

    k_cache, v_cache = _project_keys_values(
        x32,
        w,
        n_kv_heads=n_kv_heads,
        head_dim=D,
        rope_base=rope_base,
        eps=eps,
        chunk_size=chunk_size,
    )  # (Hkv, T, D) each

    out = torch.empty_like(x)
    workspace = x32.new_empty(n_heads * min(chunk_size, T) ** 2)  # one block of scores, reused
    for start in range(0, T, chunk_size):
        end = min(start + chunk_size, T)
        x_chunk = x32[start:end]  # (Tc, C)
        xn = _rms_norm(x_chunk, w["attn_norm"], eps)
        # head h uses key/value head h // G, so heads are grouped as (Hkv, G)
        q = (xn @ w["wq"]).view(end - start, n_kv_heads, G, D).permute(1, 2, 0, 3)  # (Hkv, G, Tc, D)
        cos, sin = _rope_cos_sin(start, end, D, rope_base, compute_dtype)
        y = _causal_attention_chunk(_apply_rope(q, cos, sin), k_cache, v_cache, start, chunk_size, workspace)
        y = y.permute(2, 0, 1, 3).reshape(end - start, n_heads * D)  # (Tc, H*D)
        h = x_chunk + y @ w["wo"]  # (Tc, C)
        hn = _rms_norm(h, w["mlp_norm"], eps)
        out[start:end] = h + _swiglu_mlp(hn, w["w_gate"], w["w_up"], w["w_down"])
    return out
