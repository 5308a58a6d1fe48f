"""Worker-side helpers for grpo-loss: run autograd next to the submission.

Tests call these as `candidate.driver.<name>(...)`; each gets the submission module first and
returns plain tensors, since autograd graphs cannot cross the process boundary.
"""

from torch import Tensor


def loss_and_grad(module, logp: Tensor, old_logp, ref_logp, advantages, mask, kwargs: dict):
    """(loss, d loss / d logp) with logp a leaf that keeps the caller's strides."""
    logp = logp.detach().requires_grad_(True)
    loss = module.grpo_loss(logp, old_logp, ref_logp, advantages, mask, **kwargs)
    if loss.grad_fn is None:
        raise TypeError("grpo_loss returned a tensor with no grad_fn although logp requires grad")
    loss.backward()
    return loss.detach(), None if logp.grad is None else logp.grad.detach().clone()


def two_losses_one_graph(module, logp, old_logp, ref_logp, advantages, mask, kwargs_a: dict, kwargs_b: dict):
    """Both losses from one leaf, summed, one backward: (loss_a, loss_b, d (a + b) / d logp)."""
    logp = logp.detach().requires_grad_(True)
    loss_a = module.grpo_loss(logp, old_logp, ref_logp, advantages, mask, **kwargs_a)
    loss_b = module.grpo_loss(logp, old_logp, ref_logp, advantages, mask, **kwargs_b)
    (loss_a + loss_b).backward()
    return loss_a.detach(), loss_b.detach(), logp.grad.detach().clone()
