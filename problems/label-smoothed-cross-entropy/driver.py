"""Worker-side helpers for label-smoothed-cross-entropy: run autograd next to the submission.

Tests call these as `candidate.driver.<name>(...)`; each gets the submission module first and
returns plain tensors, since autograd graphs cannot cross the process boundary.
"""

from torch import Tensor


def _leaf(t: Tensor) -> Tensor:
    return t.detach().requires_grad_(True)  # shares the caller's storage and strides


def _grad(t: Tensor) -> Tensor | None:
    return None if t.grad is None else t.grad.detach().clone()


def forward_backward(module, logits: Tensor, labels: Tensor, kwargs: dict, grad_output: Tensor | None = None):
    """(loss, d loss / d logits, has_grad_fn); for reduction="none" backward(grad_output) weights the tokens."""
    logits = _leaf(logits)
    loss = module.cross_entropy(logits, labels, **kwargs)
    has_grad_fn = loss.grad_fn is not None
    if has_grad_fn:
        loss.backward(grad_output if loss.dim() else None)
    return loss.detach(), _grad(logits), has_grad_fn


def two_losses_one_graph(module, logits: Tensor, labels: Tensor, kwargs_a: dict, kwargs_b: dict):
    """Both losses from one leaf, summed, one backward: (loss_a, loss_b, d (a + b) / d logits)."""
    logits = _leaf(logits)
    loss_a = module.cross_entropy(logits, labels, **kwargs_a)
    loss_b = module.cross_entropy(logits, labels, **kwargs_b)
    (loss_a + loss_b).backward()
    return loss_a.detach(), loss_b.detach(), _grad(logits)


def accumulated_backward(module, micro_batches, kwargs: dict):
    """(loss, [d loss / d logits per micro-batch], has_grad_fn); keeps list vs tuple as the caller sent it."""
    leaves = [(_leaf(logits), labels) for logits, labels in micro_batches]
    passed = leaves if isinstance(micro_batches, list) else tuple(leaves)
    loss = module.accumulated_loss(passed, **kwargs)
    has_grad_fn = loss.grad_fn is not None
    if has_grad_fn:
        loss.backward()
    return loss.detach(), [_grad(logits) for logits, _ in leaves], has_grad_fn
