"""Token sampling for LLM decoding: repetition penalty, temperature, top-k, top-p, min-p (reference solution).

Temperature / top-k: Fan et al., "Hierarchical Neural Story Generation", 2018.
Top-p (nucleus): Holtzman et al., "The Curious Case of Neural Text Degeneration", ICLR 2020,
https://arxiv.org/abs/1904.09751
Min-p: Nguyen et al., "Turning Up the Heat: Min-p Sampling", 2024, https://arxiv.org/abs/2407.01082
Repetition penalty: Keskar et al., "CTRL", 2019, https://arxiv.org/abs/1909.05858

Per row, in float64:
    x   = logits with the repetition penalty applied to the tokens in prev_tokens
    z   = x / temperature                     (temperature == 0: argmax of x)
    pi  = tokens by z descending, ties by smaller id; -inf tokens are never kept
    top-k, then top-p, then min-p remove tokens from the end of pi, each on the distribution
    renormalised over what the previous steps kept
    q   = softmax of z over the kept tokens; the token is the first in pi whose cumulative q exceeds u
"""

import math

import torch
from torch import Tensor


def _is_number(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)  # a bool is not a number here


def _check_arguments(
    logits: Tensor,
    uniforms: Tensor,
    temperature: float,
    top_k: int,
    top_p: float,
    min_p: float,
    repetition_penalty: float,
    prev_tokens: Tensor | None,
) -> None:
    if not _is_number(temperature) or not (math.isfinite(temperature) and temperature >= 0):
        raise ValueError(f"temperature must be a finite number >= 0, got {temperature!r}")
    if not isinstance(top_k, int) or isinstance(top_k, bool) or top_k < 0:
        raise ValueError(f"top_k must be an int >= 0, got {top_k!r}")
    if not _is_number(top_p) or not 0 < top_p <= 1:
        raise ValueError(f"top_p must be a number in (0, 1], got {top_p!r}")
    if not _is_number(min_p) or not 0 <= min_p <= 1:
        raise ValueError(f"min_p must be a number in [0, 1], got {min_p!r}")
    if not _is_number(repetition_penalty) or not (math.isfinite(repetition_penalty) and repetition_penalty > 0):
        raise ValueError(f"repetition_penalty must be a finite number > 0, got {repetition_penalty!r}")
    if not isinstance(logits, Tensor) or logits.dim() != 2 or 0 in logits.shape or not logits.is_floating_point():
        shape = tuple(logits.shape) if isinstance(logits, Tensor) else type(logits).__name__
        raise ValueError(f"logits must be a floating (B, V) tensor with B, V >= 1, got {shape}")
    B, V = logits.shape
    if torch.isnan(logits).any() or torch.isposinf(logits).any():
        raise ValueError("logits must not hold NaN or +inf")
    if not torch.isfinite(logits).any(dim=1).all():
        raise ValueError("every row of logits needs at least one finite logit")
    if not isinstance(uniforms, Tensor) or tuple(uniforms.shape) != (B,) or not uniforms.is_floating_point():
        shape = tuple(uniforms.shape) if isinstance(uniforms, Tensor) else type(uniforms).__name__
        raise ValueError(f"uniforms must be a floating ({B},) tensor, got {shape}")
    if not ((uniforms >= 0) & (uniforms < 1)).all():
        raise ValueError("every uniform must lie in [0, 1)")
    if prev_tokens is not None:
        if (
            not isinstance(prev_tokens, Tensor)
            or prev_tokens.dim() != 2
            or prev_tokens.shape[0] != B
            or prev_tokens.dtype.is_floating_point
            or prev_tokens.dtype.is_complex
            or prev_tokens.dtype == torch.bool
        ):
            shape = tuple(prev_tokens.shape) if isinstance(prev_tokens, Tensor) else type(prev_tokens).__name__
            raise ValueError(f"prev_tokens must be an integer ({B}, L) tensor or None, got {shape}")
        ids = prev_tokens.long()  # a uint8 tensor would wrap -1 round to 255 in the comparison
        if ((ids < -1) | (ids >= V)).any():
            raise ValueError(f"prev_tokens must hold token ids in [0, {V}) or -1 (padding)")


def _apply_repetition_penalty(x: Tensor, prev_tokens: Tensor, penalty: float) -> Tensor:
    """CTRL's penalty on every distinct token of prev_tokens (once, however often it occurs); -1 is padding."""
    seen = torch.zeros_like(x, dtype=torch.bool)  # (B, V)
    rows = torch.arange(x.shape[0])[:, None].expand_as(prev_tokens)  # (B, L)
    valid = prev_tokens >= 0
    seen[rows[valid], prev_tokens[valid].long()] = True
    # dividing a negative logit would raise its probability: multiply those instead
    penalised = torch.where(x > 0, x / penalty, x * penalty)
    return torch.where(seen, penalised, x)  # a new tensor: the caller's logits stay as they were


def _softmax_over(z_sorted: Tensor, keep: Tensor) -> Tensor:
    """Softmax of z over the kept tokens, zero elsewhere; keep[:, 0] is always True."""
    return torch.softmax(torch.where(keep, z_sorted, -math.inf), dim=-1)  # (B, V)


def sample(
    logits: Tensor,
    uniforms: Tensor,
    *,
    temperature: float = 1.0,
    top_k: int = 0,
    top_p: float = 1.0,
    min_p: float = 0.0,
    repetition_penalty: float = 1.0,
    prev_tokens: Tensor | None = None,
) -> Tensor:
    """One token id per row: (B,) int64, picked from logits (B, V) by the uniforms (B,) in [0, 1)."""
    _check_arguments(logits, uniforms, temperature, top_k, top_p, min_p, repetition_penalty, prev_tokens)
    x = logits.to(torch.float64)  # (B, V)
    if prev_tokens is not None and repetition_penalty != 1:
        x = _apply_repetition_penalty(x, prev_tokens, repetition_penalty)
    if temperature == 0:
        return x.argmax(dim=-1)  # greedy: the first maximum, so ties go to the smaller id

    z = x / temperature  # (B, V)
    # one order for every step: filtering removes tokens from its end, renormalising keeps it
    z_sorted, order = torch.sort(z, dim=-1, descending=True, stable=True)  # (B, V)
    keep = torch.isfinite(z_sorted)  # a -inf logit is never a candidate
    if top_k > 0:
        keep[:, top_k:] = False
    if top_p < 1:
        p = _softmax_over(z_sorted, keep)
        # keep a token while the mass before it is below top_p: the one crossing top_p stays
        cumulative = torch.cumsum(p, dim=-1)  # (B, V)
        mass_before = torch.cat([torch.zeros_like(cumulative[:, :1]), cumulative[:, :-1]], dim=-1)  # (B, V)
        keep &= mass_before < top_p
    if min_p > 0:
        p = _softmax_over(z_sorted, keep)
        keep &= p >= min_p * p[:, :1]  # p[:, 0] is the largest kept probability

    q = _softmax_over(z_sorted, keep)  # renormalised over the kept tokens
    cdf = torch.cumsum(q, dim=-1)  # (B, V), in the order pi
    u = uniforms.to(torch.float64)[:, None]  # (B, 1)
    position = torch.searchsorted(cdf, u, right=True)  # first position whose cdf exceeds u
    # rounding can leave cdf[-1] a few ulps below 1: then the last kept token
    position = torch.minimum(position, keep.sum(dim=-1, keepdim=True) - 1)  # (B, 1)
    return order.gather(1, position).squeeze(1)  # (B,)
