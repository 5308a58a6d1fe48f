"""GRPO: group-relative advantages and the clipped surrogate loss with a k3 KL penalty.

DeepSeekMath, Shao et al., 2024: https://arxiv.org/abs/2402.03300
"""

from torch import Tensor


def group_advantages(rewards: Tensor, group_size: int, *, normalize_std: bool = True, eps: float = 1e-4) -> Tensor:
    """(B,) rewards in contiguous groups of group_size completions -> (B,) advantages."""
    raise NotImplementedError


def grpo_loss(
    logp: Tensor,
    old_logp: Tensor,
    ref_logp: Tensor,
    advantages: Tensor,
    mask: Tensor,
    *,
    clip_eps: float,
    kl_beta: float,
    aggregation: str = "token",
) -> Tensor:
    """0-d GRPO loss from (B, T) log-probs, (B,) advantages and a (B, T) bool response mask."""
    raise NotImplementedError
