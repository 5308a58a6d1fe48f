"""Label-smoothed cross-entropy with ignore_index, and the loss under gradient accumulation.

Label smoothing: Szegedy et al., CVPR 2016, https://arxiv.org/abs/1512.00567 (section 7).
"""

from collections.abc import Sequence

from torch import Tensor


def cross_entropy(
    logits: Tensor,
    labels: Tensor,
    *,
    label_smoothing: float = 0.0,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> Tensor:
    """Cross-entropy of (N, V) or (B, T, V) logits (class dimension last) against int64 labels.

    reduction "mean" (over non-ignored rows), "sum" or "none" (labels' shape); differentiable.
    """
    raise NotImplementedError


def accumulated_loss(
    micro_batches: Sequence[tuple[Tensor, Tensor]],
    *,
    label_smoothing: float = 0.0,
    ignore_index: int = -100,
) -> Tensor:
    """0-d next-token loss over micro-batches of (logits (B, T, V), labels (B, T)).

    logits[:, t] predicts labels[:, t + 1]; divide the summed token losses by the number of
    non-ignored targets over all micro-batches.
    """
    raise NotImplementedError
