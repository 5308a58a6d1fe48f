"""Worker-side helpers for moe-router: run autograd next to the submission.

Tests call these as `candidate.driver.<name>(...)`; each gets the submission module first and
returns plain tensors, since autograd graphs cannot cross the process boundary.
"""

from torch import Tensor


def loss_and_grad(module, router_logits: Tensor, k: int, attention_mask: Tensor | None = None):
    """(loss, d loss / d router_logits, has_grad_fn) with router_logits as a leaf that keeps the caller's strides."""
    leaf = router_logits.detach().requires_grad_(True)
    loss = module.load_balancing_loss(leaf, k, attention_mask)
    has_grad_fn = loss.grad_fn is not None
    if has_grad_fn:
        loss.backward()
    grad = None if leaf.grad is None else leaf.grad.detach().clone()
    return loss.detach(), grad, has_grad_fn


def two_losses_one_graph(module, router_logits: Tensor, kwargs_a: dict, kwargs_b: dict):
    """Both losses from one leaf, summed, one backward: (loss_a, loss_b, grad)."""
    leaf = router_logits.detach().requires_grad_(True)
    loss_a = module.load_balancing_loss(leaf, **kwargs_a)
    loss_b = module.load_balancing_loss(leaf, **kwargs_b)
    (loss_a + loss_b).backward()
    return loss_a.detach(), loss_b.detach(), leaf.grad.detach().clone()
