"""Worker-side helpers for grpo-loss: run autograd next to the submission.

Tests call these as `candidate.driver.<name>(...)`; each gets the submission module first and
returns plain tensors, since autograd graphs cannot cross the process boundary.
"""

import torch
from torch import Tensor


def _transposed(x: Tensor) -> Tensor:
    """The same values as x (B, T), stored column-major: a transposed view that .view(-1) refuses."""
    return x.T.contiguous().T


def _strided(x: Tensor) -> Tensor:
    """The same values as a 1-D x, as every other element of a twice longer tensor (stride 2)."""
    return torch.stack([x, torch.zeros_like(x)], dim=1)[:, 0]


def loss_and_grad(module, logp: Tensor, old_logp, ref_logp, advantages, mask, kwargs: dict, transposed: bool = False):
    """(loss, d loss / d logp) with logp a leaf that keeps the caller's strides.

    Tensors arrive contiguous from the wire; transposed=True lays logp, old_logp, ref_logp and
    mask out column-major here in the worker and advantages with stride 2.
    """
    if transposed:
        logp, old_logp, ref_logp, mask = map(_transposed, (logp, old_logp, ref_logp, mask))
        advantages = _strided(advantages)
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


def constants_get_no_grad(module, logp, old_logp, ref_logp, advantages, mask, kwargs: dict, same: str):
    """(loss, d loss / d logp, grads) where the constants require grad too.

    same="old": old_logp is logp itself (one leaf); same="both": old_logp and ref_logp are logp
    itself; same="none": separate leaves. advantages is always a leaf that requires grad. grads
    maps each separate constant to whether a non-zero gradient reached it.
    """
    logp = logp.detach().requires_grad_(True)
    old = logp if same in ("old", "both") else old_logp.detach().requires_grad_(True)
    ref = logp if same == "both" else ref_logp.detach().requires_grad_(True)
    adv = advantages.detach().requires_grad_(True)
    loss = module.grpo_loss(logp, old, ref, adv, mask, **kwargs)
    loss.backward()
    leaves = {"advantages": adv}
    if old is not logp:
        leaves["old_logp"] = old
    if ref is not logp:
        leaves["ref_logp"] = ref
    grads = {k: t.grad is not None and bool(t.grad.ne(0).any()) for k, t in leaves.items()}
    return loss.detach(), None if logp.grad is None else logp.grad.detach().clone(), grads


def advantages_strided(module, rewards: Tensor, group_size: int, kwargs: dict):
    """group_advantages on rewards laid out with stride 2 (a non-contiguous 1-D view)."""
    return module.group_advantages(_strided(rewards), group_size, **kwargs)
