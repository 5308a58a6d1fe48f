"""Worker-side helpers for dpo-loss: run autograd next to the submission.

Tests call these as `candidate.driver.<name>(...)`; each gets the submission module first and
returns plain tensors, since autograd graphs cannot cross the process boundary.
"""

from torch import Tensor


def _grad(t: Tensor) -> Tensor | None:
    return None if t.grad is None else t.grad.detach().clone()


def _transposed(x: Tensor) -> Tensor:
    """The same values as x (B, T), stored column-major: a transposed view that .view(-1) refuses."""
    return x.T.contiguous().T


def forward_backward(module, pc, pr, rc, rr, mc, mr, kwargs: dict, transposed: bool = False, ref_grad: bool = False):
    """(loss, chosen_rewards, rejected_rewards, grad_pc, grad_pr, flags) with the policy log-probs as leaves.

    Tensors arrive contiguous from the wire; transposed=True lays all six inputs out column-major
    here in the worker. ref_grad=True makes the reference log-probs leaves that require grad too.
    flags says whether the loss has a grad_fn, whether either reward requires grad, and whether
    any gradient reached the reference log-probabilities.
    """
    if transposed:
        pc, pr, rc, rr, mc, mr = map(_transposed, (pc, pr, rc, rr, mc, mr))
    pc, pr = pc.detach().requires_grad_(True), pr.detach().requires_grad_(True)
    if ref_grad:
        rc, rr = rc.detach().requires_grad_(True), rr.detach().requires_grad_(True)
    loss, chosen_rewards, rejected_rewards = module.dpo_loss(pc, pr, rc, rr, mc, mr, **kwargs)
    flags = {
        "loss_has_grad_fn": loss.grad_fn is not None,
        "rewards_require_grad": bool(chosen_rewards.requires_grad or rejected_rewards.requires_grad),
    }
    if loss.grad_fn is not None:
        loss.backward()
    flags["ref_got_grad"] = any(t.grad is not None and bool(t.grad.ne(0).any()) for t in (rc, rr))
    return loss.detach(), chosen_rewards.detach(), rejected_rewards.detach(), _grad(pc), _grad(pr), flags


def two_losses_one_graph(module, pc, pr, rc, rr, mc, mr, kwargs_a: dict, kwargs_b: dict):
    """Both losses from the same leaves, summed, one backward: (loss_a, loss_b, grad_pc, grad_pr)."""
    pc, pr = pc.detach().requires_grad_(True), pr.detach().requires_grad_(True)
    loss_a = module.dpo_loss(pc, pr, rc, rr, mc, mr, **kwargs_a)[0]
    loss_b = module.dpo_loss(pc, pr, rc, rr, mc, mr, **kwargs_b)[0]
    (loss_a + loss_b).backward()
    return loss_a.detach(), loss_b.detach(), _grad(pc), _grad(pr)
