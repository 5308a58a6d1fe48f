"""Top-k mixture-of-experts routing with expert capacity, and the load-balancing loss (reference solution).

GShard, Lepikhin et al., ICLR 2021: https://arxiv.org/abs/2006.16668
Switch Transformer, Fedus et al., JMLR 2022: https://arxiv.org/abs/2101.03961
Mixtral of Experts, Jiang et al., 2024: https://arxiv.org/abs/2401.04088

Letters: N tokens, C model dim, E number of experts (GShard's E; not the embedding dim here).

route:
    p = softmax(x @ w_gate)                        over all E experts
    top-k of p per token, ties to the lower index   rank 0 = most probable
    gates = top-k p, optionally renormalised over the k selected
    capacity = ceil(capacity_factor * N * k / E)
    slots fill each expert's buffer rank-major: rank 0 of tokens 0..N-1, then rank 1, ...
    a slot past its expert's capacity is dropped: gate 0
load_balancing_loss (Switch eq. 4, Mixtral's top-k form):
    f_e = fraction of valid tokens with e among their top-k (sums to k over e)
    P_e = mean over valid tokens of p_e
    loss = E * sum_e f_e * P_e
"""

import math

import torch
import torch.nn.functional as F
from torch import Tensor


def _check_k(k: int, E: int) -> None:
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= E:
        raise ValueError(f"k must be an int with 1 <= k <= E = {E}, got {k!r}")


def _router_probs(logits: Tensor) -> Tensor:
    """Softmax over the E experts in float32 for half inputs, float64 kept."""
    compute_dtype = torch.promote_types(logits.dtype, torch.float32)
    return F.softmax(logits.to(compute_dtype), dim=-1)  # (N, E)


def _top_k(probs: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """(values, indices), (N, k) each, most probable first; equal probabilities go to the lower index.

    torch.topk does not promise an order among ties; a stable descending sort does.
    """
    values, indices = torch.sort(probs, dim=-1, descending=True, stable=True)  # (N, E)
    return values[:, :k], indices[:, :k]


def _expert_capacity(N: int, E: int, k: int, capacity_factor: float) -> int:
    """Slots per expert: ceil(capacity_factor * N * k / E), so at least 1."""
    return math.ceil(capacity_factor * N * k / E)


def route(
    x: Tensor,
    w_gate: Tensor,
    *,
    k: int,
    capacity_factor: float,
    renormalize: bool = True,
) -> tuple[Tensor, Tensor, Tensor]:
    """(expert_index, combine_weight, dropped), each (N, k): x (N, C), w_gate (C, E)."""
    if x.dim() != 2 or w_gate.dim() != 2 or x.shape[0] < 1 or x.shape[1] != w_gate.shape[0] or w_gate.shape[1] < 1:
        raise ValueError(
            f"x must be (N, C) with N >= 1 and w_gate (C, E) with E >= 1, got {tuple(x.shape)} and {tuple(w_gate.shape)}"
        )
    if x.dtype != w_gate.dtype or not x.is_floating_point():
        raise ValueError(f"x and w_gate must share one floating dtype, got {x.dtype} and {w_gate.dtype}")
    N, E = x.shape[0], w_gate.shape[1]
    _check_k(k, E)
    if isinstance(capacity_factor, bool) or not isinstance(capacity_factor, int | float):
        raise ValueError(f"capacity_factor must be a number, got {capacity_factor!r}")
    if not (math.isfinite(capacity_factor) and capacity_factor > 0):
        raise ValueError(f"capacity_factor must be finite and > 0, got {capacity_factor!r}")
    if not isinstance(renormalize, bool):
        raise ValueError(f"renormalize must be a bool, got {renormalize!r}")

    compute_dtype = torch.promote_types(x.dtype, torch.float32)  # fp32 router for half inputs
    logits = x.to(compute_dtype) @ w_gate.to(compute_dtype)  # (N, E)
    probs = _router_probs(logits)  # (N, E)
    gates, expert_index = _top_k(probs, k)  # (N, k), (N, k)
    if renormalize:
        gates = gates / gates.sum(dim=-1, keepdim=True)  # over the k selected, before any drop

    # priority: rank 0 of every token in token order, then rank 1, ... (GShard's top-2 order)
    capacity = _expert_capacity(N, E, k, capacity_factor)
    slot_expert = expert_index.T.reshape(-1)  # (k * N,) rank-major
    expert_mask = F.one_hot(slot_expert, E)  # (k * N, E)
    position_in_expert = (torch.cumsum(expert_mask, dim=0) - 1) * expert_mask  # (k * N, E)
    kept = position_in_expert.sum(dim=-1) < capacity  # (k * N,)
    dropped = ~kept.reshape(k, N).T  # (N, k)

    combine_weight = torch.where(dropped, torch.zeros((), dtype=gates.dtype), gates)  # (N, k)
    return expert_index, combine_weight.to(x.dtype), dropped


def load_balancing_loss(router_logits: Tensor, k: int, attention_mask: Tensor | None = None) -> Tensor:
    """E * sum_e f_e * P_e over the valid tokens: router_logits (N, E), attention_mask (B, T) with B * T = N."""
    if router_logits.dim() != 2 or 0 in router_logits.shape:
        raise ValueError(f"router_logits must be (N, E) with N, E >= 1, got {tuple(router_logits.shape)}")
    if not router_logits.is_floating_point():
        raise ValueError(f"router_logits must be floating point, got {router_logits.dtype}")
    N, E = router_logits.shape
    _check_k(k, E)
    if attention_mask is None:
        valid = None
    else:
        if attention_mask.dim() != 2 or attention_mask.numel() != N:
            raise ValueError(f"attention_mask must be (B, T) with B * T = N = {N}, got {tuple(attention_mask.shape)}")
        if attention_mask.is_floating_point() or attention_mask.is_complex():
            raise ValueError(f"attention_mask must be bool or integer, got {attention_mask.dtype}")
        valid = attention_mask.reshape(-1)  # (N,) token n = b * T + t
        if not ((valid == 0) | (valid == 1)).all():
            raise ValueError("attention_mask values must be 0 or 1")
        if not valid.any():
            raise ValueError("attention_mask has no valid token")

    probs = _router_probs(router_logits)  # (N, E)
    _, selected = _top_k(probs, k)  # (N, k)
    expert_mask = F.one_hot(selected, E).sum(dim=1).to(probs.dtype)  # (N, E), 1 where e is among the top k
    if valid is None:
        tokens_per_expert = expert_mask.mean(dim=0)  # (E,) f_e, sums to k
        router_prob_per_expert = probs.mean(dim=0)  # (E,) P_e
    else:
        weight = valid.to(probs.dtype)[:, None]  # (N, 1)
        num_valid = weight.sum()
        tokens_per_expert = (expert_mask * weight).sum(dim=0) / num_valid  # (E,)
        router_prob_per_expert = (probs * weight).sum(dim=0) / num_valid  # (E,)
    loss = E * (tokens_per_expert * router_prob_per_expert).sum()
    return loss.to(router_logits.dtype)
