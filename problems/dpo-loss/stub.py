"""Direct Preference Optimization loss from per-token log-probabilities.

DPO, Rafailov et al., NeurIPS 2023: https://arxiv.org/abs/2305.18290
"""

from torch import Tensor


def dpo_loss(
    policy_chosen_logps: Tensor,
    policy_rejected_logps: Tensor,
    ref_chosen_logps: Tensor,
    ref_rejected_logps: Tensor,
    chosen_mask: Tensor,
    rejected_mask: Tensor,
    *,
    beta: float,
    label_smoothing: float = 0.0,
    loss_type: str = "sigmoid",
) -> tuple[Tensor, Tensor, Tensor]:
    """(loss, chosen_rewards, rejected_rewards) for a batch of B preference pairs.

    Log-probabilities: (B, T) floating point; masks: (B, T) bool, True on response tokens.
    loss is 0-d and differentiable; the rewards are (B,) and detached.
    """
    raise NotImplementedError
