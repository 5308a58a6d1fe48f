"""Speculative decoding: verify a draft model's tokens against the target model (reference solution).

Leviathan, Kalman, Matias, "Fast Inference from Transformers via Speculative Decoding", ICML 2023:
https://arxiv.org/abs/2211.17192
Chen et al., "Accelerating Large Language Model Decoding with Speculative Sampling", 2023:
https://arxiv.org/abs/2302.01318

Per row b, with x_i = draft_tokens[b, i], q_i = q_draft[b, i], p_i = p_target[b, i], u = uniforms[b]:
    draft i is accepted iff u[i] * q_i[x_i] < p_i[x_i]      (accept with probability min(1, p / q))
    n = the number of drafts accepted before the first rejection
    n < K: one more token from max(0, p_n - q_n), normalized  (from p_n if that residual is all 0)
    n = K: a bonus token from p_K
    the last token is drawn with u[K] by inverse CDF in token-id order.
Everything is computed in float64.
"""

import torch
from torch import Tensor

PAD = -1  # fills the positions after a row's last token
INTEGER_DTYPES = (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)


def _check_inputs(draft_tokens: Tensor, q_draft: Tensor, p_target: Tensor, uniforms: Tensor) -> None:
    if draft_tokens.dim() != 2 or draft_tokens.dtype not in INTEGER_DTYPES or draft_tokens.shape[0] < 1:
        raise ValueError(
            f"draft_tokens must be a 2-D integer tensor (B, K) with B >= 1, got {draft_tokens.dtype} {tuple(draft_tokens.shape)}"
        )
    if p_target.dim() != 3:
        raise ValueError(f"p_target must be 3-D (B, K+1, V), got {tuple(p_target.shape)}")
    B, K = draft_tokens.shape
    V = p_target.shape[2]
    if (
        tuple(p_target.shape) != (B, K + 1, V)
        or tuple(q_draft.shape) != (B, K, V)
        or tuple(uniforms.shape) != (B, K + 1)
    ):
        raise ValueError(
            f"expected draft_tokens (B, K), q_draft (B, K, V), p_target (B, K+1, V), uniforms (B, K+1) with V >= 1, "
            f"got {tuple(draft_tokens.shape)}, {tuple(q_draft.shape)}, {tuple(p_target.shape)}, {tuple(uniforms.shape)}"
        )
    if not all(t.is_floating_point() for t in (q_draft, p_target, uniforms)):
        raise ValueError(
            f"q_draft, p_target and uniforms must be floating point, got {q_draft.dtype}, {p_target.dtype}, {uniforms.dtype}"
        )
    if not bool(((draft_tokens >= 0) & (draft_tokens < V)).all()):
        raise ValueError(f"draft tokens must lie in [0, {V}), got {draft_tokens.tolist()}")
    if not all(bool((torch.isfinite(t) & (t >= 0)).all()) for t in (q_draft, p_target)):
        raise ValueError("q_draft and p_target must be finite and >= 0")
    if not bool((p_target.double().sum(dim=2) > 0).all()):  # V = 0 ends here too
        raise ValueError("every row p_target[b, i] needs a positive sum")
    q_x = q_draft.gather(2, draft_tokens.long()[..., None])  # (B, K, 1)
    if not bool((q_x > 0).all()):
        raise ValueError("q_draft gives probability 0 to a draft token: the draft cannot have sampled it")
    if not bool(((uniforms >= 0) & (uniforms < 1)).all()):
        raise ValueError("uniforms must lie in [0, 1)")


def _inverse_cdf(weights: Tensor, u: Tensor) -> Tensor:
    """Per row, the smallest token id t with u * S < c[t], c = cumsum(weights), S = c[V - 1]."""
    c = weights.cumsum(dim=1)  # (B, V)
    target = (u * c[:, -1])[:, None]  # (B, 1)
    return torch.searchsorted(c, target, right=True).squeeze(1)  # (B,): first t with c[t] > target


def verify(draft_tokens: Tensor, q_draft: Tensor, p_target: Tensor, uniforms: Tensor) -> tuple[Tensor, Tensor]:
    """(tokens (B, K+1) int64 padded with -1, num_tokens (B,) int64): the tokens each row emits."""
    _check_inputs(draft_tokens, q_draft, p_target, uniforms)
    B, K = draft_tokens.shape
    x = draft_tokens.long()  # (B, K)
    q = q_draft.double()  # (B, K, V)
    p = p_target.double()  # (B, K+1, V)
    u = uniforms.double()  # (B, K+1)

    # accept draft i iff u_i * q_i(x_i) < p_i(x_i): probability min(1, p / q)
    q_x = torch.take_along_dim(q, x[..., None], dim=2).squeeze(2)  # (B, K)
    p_x = torch.take_along_dim(p[:, :K], x[..., None], dim=2).squeeze(2)  # (B, K)
    accepted = u[:, :K] * q_x < p_x  # (B, K)
    n = accepted.long().cumprod(dim=1).sum(dim=1)  # (B,) drafts before the first rejection

    # the last token: from norm(max(0, p_n - q_n)) after a rejection at n, from p_K when all K are accepted
    rows = torch.arange(B)
    residuals = torch.cat([(p[:, :K] - q).clamp_min(0.0), p[:, K:]], dim=1)  # (B, K+1, V)
    residual = residuals[rows, n]  # (B, V)
    empty = residual.sum(dim=1) == 0  # p <= q everywhere: only by rounding or unnormalized rows
    weights = torch.where(empty[:, None], p[rows, n], residual)  # (B, V)
    last = _inverse_cdf(weights, u[:, K])  # (B,)

    # the accepted prefix, the last token at position n, then padding
    positions = torch.arange(K + 1)[None, :]  # (1, K+1)
    drafts = torch.cat([x, x.new_zeros(B, 1)], dim=1)  # (B, K+1): position K holds no draft
    padded = torch.where(positions == n[:, None], last[:, None], PAD)  # (B, K+1)
    tokens = torch.where(positions < n[:, None], drafts, padded)  # (B, K+1) int64
    return tokens, n + 1
