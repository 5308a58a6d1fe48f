"""Memory-efficient forward pass of one Llama-style decoder block for long contexts.

Implement `block_forward`. The block is pre-norm: ``h = x + Attn(RMSNorm(x))`` and
``out = h + MLP(RMSNorm(h))`` with rotate-half RoPE, causal grouped-query attention and a SwiGLU
MLP, computed `chunk_size` positions at a time so that neither a (T, T) score matrix nor a (T, F)
MLP activation ever exists. See statement.md for the exact definitions and the memory budget.
"""

from __future__ import annotations

from torch import Tensor


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

    Args:
        x: (T, C) hidden states of one sequence, positions 0..T-1.
        weights: "attn_norm" (C,), "wq" (C, H*D), "wk" (C, Hkv*D), "wv" (C, Hkv*D),
            "wo" (H*D, C), "mlp_norm" (C,), "w_gate" (C, F), "w_up" (C, F), "w_down" (F, C);
            projections are ``x @ w``.
        n_heads: H query heads; D = C // n_heads must be even.
        n_kv_heads: Hkv key/value heads; H must be a multiple of Hkv (head h reads kv head h // (H // Hkv)).
        rope_base: RoPE base, ``theta_i = rope_base ** (-2i / D)``.
        eps: RMSNorm epsilon, inside the square root.
        chunk_size: positions per chunk (queries and key blocks); the result must not depend on it.

    Returns:
        (T, C) tensor of x's dtype. Half-precision inputs are computed in float32.

    Raises:
        ValueError: on a bad shape or argument, naming it.
    """
    raise NotImplementedError
