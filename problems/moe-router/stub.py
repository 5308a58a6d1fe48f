"""Mixture-of-experts router: top-k gating with expert capacity, and the load-balancing loss.

GShard, Lepikhin et al., ICLR 2021: https://arxiv.org/abs/2006.16668
Switch Transformer, Fedus et al., JMLR 2022: https://arxiv.org/abs/2101.03961

Letters: N tokens, C model dim, E number of experts (not an embedding dim here).
"""

from torch import Tensor


def route(
    x: Tensor,
    w_gate: Tensor,
    *,
    k: int,
    capacity_factor: float,
    renormalize: bool = True,
) -> tuple[Tensor, Tensor, Tensor]:
    """(expert_index, combine_weight, dropped), each (N, k), for tokens x (N, C) and router weights w_gate (C, E).

    expert_index: int64, rank order (most probable first, ties to the lower index);
    combine_weight: x's dtype, 0 for dropped slots; dropped: bool, per slot.
    """
    raise NotImplementedError


def load_balancing_loss(router_logits: Tensor, k: int, attention_mask: Tensor | None = None) -> Tensor:
    """0-d loss E * sum_e f_e * P_e over the valid tokens.

    router_logits: (N, E) floating point; attention_mask: None or (B, T) with B * T = N, bool or 0/1 integers.
    """
    raise NotImplementedError
