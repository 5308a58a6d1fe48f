"""Label-smoothed cross-entropy with ignore_index, and its gradient-accumulation form (reference solution).

Label smoothing: Szegedy et al., "Rethinking the Inception Architecture", CVPR 2016,
https://arxiv.org/abs/1512.00567 (section 7). The target distribution of a row with label y is
    q = (1 - eps) * onehot(y) + eps / V      (V classes, the uniform part includes y)
and the loss is the cross-entropy H(q, p) with p = softmax(logits):
    loss = (1 - eps) * (-log p_y) + eps * mean_v(-log p_v)
Rows whose label is ignore_index contribute nothing, the smoothing term included, and are not
counted by the mean. accumulated_loss normalises by the non-ignored target tokens of all
micro-batches together, as one big batch would.
"""

from collections.abc import Sequence

import torch
from torch import Tensor

REDUCTIONS = ("mean", "sum", "none")


def _check_options(label_smoothing: float, reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    if not isinstance(label_smoothing, int | float) or not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be a number in [0, 1], got {label_smoothing!r}")


def _check_labels(logits: Tensor, labels: Tensor, ignore_index: int) -> None:
    """labels are int64 class indices in [0, V), or ignore_index."""
    if labels.dtype != torch.int64:
        raise ValueError(f"labels must be int64, got {labels.dtype}")
    V = logits.size(-1)
    allowed = ((labels >= 0) & (labels < V)) | (labels == ignore_index)
    if not allowed.all():
        raise ValueError(
            f"labels must be in [0, {V}) or ignore_index={ignore_index}, got {labels[~allowed][:4].tolist()}"
        )


def _token_losses(logits: Tensor, labels: Tensor, label_smoothing: float, ignore_index: int) -> tuple[Tensor, Tensor]:
    """(per-token loss with 0 on ignored tokens, valid mask), both of labels' shape; fp32 for half logits."""
    compute_dtype = torch.promote_types(logits.dtype, torch.float32)
    z = logits.to(compute_dtype)  # (..., V)
    # log p_v = z_v - logsumexp(z): logsumexp subtracts the row max, so 1e4 logits do not overflow
    logp = z - torch.logsumexp(z, dim=-1, keepdim=True)  # (..., V)
    valid = labels != ignore_index  # (...)
    target = torch.where(valid, labels, 0)  # any in-range index for ignored rows, masked below
    nll = -logp.gather(-1, target.unsqueeze(-1)).squeeze(-1)  # (...)
    smooth = -logp.mean(dim=-1)  # (...) eps / V on every class, y included
    loss = (1.0 - label_smoothing) * nll + label_smoothing * smooth
    return torch.where(valid, loss, 0.0), valid


def cross_entropy(
    logits: Tensor,
    labels: Tensor,
    *,
    label_smoothing: float = 0.0,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> Tensor:
    """torch.nn.functional.cross_entropy with the class dimension last: (N, V) or (B, T, V) logits."""
    _check_options(label_smoothing, reduction)
    if not logits.is_floating_point() or logits.dim() not in (2, 3) or logits.size(-1) < 1:
        raise ValueError(
            f"logits must be floating (N, V) or (B, T, V) with V >= 1, got {logits.dtype} {tuple(logits.shape)}"
        )
    if labels.shape != logits.shape[:-1]:
        raise ValueError(f"labels must have shape {tuple(logits.shape[:-1])}, got {tuple(labels.shape)}")
    _check_labels(logits, labels, ignore_index)

    loss, valid = _token_losses(logits, labels, label_smoothing, ignore_index)  # (N,) or (B, T)
    if reduction == "sum":
        loss = loss.sum()
    elif reduction == "mean":
        loss = loss.sum() / valid.sum()  # 0 / 0 = nan when every token is ignored, as in torch
    return loss.to(logits.dtype)


def accumulated_loss(
    micro_batches: Sequence[tuple[Tensor, Tensor]],
    *,
    label_smoothing: float = 0.0,
    ignore_index: int = -100,
) -> Tensor:
    """Next-token loss over micro-batches of (logits (B, T, V), labels (B, T)), as one batch would give it.

    logits[:, t] predicts labels[:, t + 1]; the sum of all token losses is divided by the number of
    non-ignored targets over every micro-batch (not a mean of per-micro-batch means).
    """
    _check_options(label_smoothing, "mean")
    if not isinstance(micro_batches, list | tuple) or len(micro_batches) == 0:
        raise ValueError("micro_batches must be a non-empty list of (logits, labels) pairs")
    first = micro_batches[0][0]
    for logits, labels in micro_batches:
        if not logits.is_floating_point() or logits.dim() != 3 or logits.size(-1) < 1:
            raise ValueError(
                f"each micro-batch's logits must be floating (B, T, V), got {logits.dtype} {tuple(logits.shape)}"
            )
        if logits.dtype != first.dtype or logits.size(-1) != first.size(-1):
            raise ValueError(
                f"micro-batches must share dtype and V, got {first.dtype} V={first.size(-1)}"
                f" and {logits.dtype} V={logits.size(-1)}"
            )
        if labels.shape != logits.shape[:-1]:
            raise ValueError(f"labels must have shape {tuple(logits.shape[:-1])}, got {tuple(labels.shape)}")
        _check_labels(logits, labels[:, 1:], ignore_index)

    sums, count = [], 0
    for logits, labels in micro_batches:
        # shift: position t predicts token t + 1; the last position has no target
        loss, valid = _token_losses(logits[:, :-1], labels[:, 1:], label_smoothing, ignore_index)  # (B, T - 1)
        sums.append(loss.sum())
        count += int(valid.sum())
    if count == 0:
        raise ValueError("no target token is left: every shifted label is ignore_index")
    return (torch.stack(sums).sum() / count).to(first.dtype)  # one mean over every micro-batch's targets
