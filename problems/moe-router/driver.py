"""Worker-side helpers for moe-router: run autograd next to the submission.

Tests call these as `candidate.driver.<name>(...)`; each gets the submission module first and
returns plain tensors, since autograd graphs cannot cross the process boundary. Tensors arrive
contiguous from the wire, so a non-contiguous layout is built here, in the worker.
"""

from torch import Tensor


def _layout(t: Tensor, layout: str | None) -> Tensor:
    """The same values as the 2-D t in another memory layout.

    "transposed": stored column-major (a transposed view that .view(-1) refuses);
    "strided": every other column of a tensor twice as wide (a slice with column stride 2).
    """
    if layout is None:
        return t
    if layout == "transposed":
        return t.T.contiguous().T
    if layout == "strided":
        wide = t.new_zeros(t.shape[0], 2 * t.shape[1])
        wide[:, ::2] = t
        return wide[:, ::2]
    raise ValueError(f"unknown layout {layout!r}")


def route_in_layout(module, x: Tensor, w_gate: Tensor, kwargs: dict, layout: str):
    """route() with x and w_gate laid out non-contiguously here; (outputs, both inputs non-contiguous)."""
    xl, wl = _layout(x, layout), _layout(w_gate, layout)
    non_contiguous = not xl.is_contiguous() and not wl.is_contiguous()
    return module.route(xl, wl, **kwargs), non_contiguous


def loss_and_grad(
    module, router_logits: Tensor, k: int, attention_mask: Tensor | None = None, layout: str | None = None
):
    """(loss, d loss / d router_logits, has_grad_fn) with router_logits as a leaf.

    layout lays router_logits and attention_mask out non-contiguously here (see _layout).
    """
    leaf = _layout(router_logits.detach(), layout).detach().requires_grad_(True)
    if attention_mask is not None:
        attention_mask = _layout(attention_mask, layout)
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


def timing_run(module, seed: int, tokens: int, hidden: int, experts: int, k: int, steps: int) -> float:
    """The timing workload, built here so no big tensor crosses the wire.

    `steps` times: route seeded (tokens, hidden) activations through a (hidden, experts) gate
    with capacity factor 1.25, then load_balancing_loss of the same logits with a padding mask,
    and its backward; returns the summed losses.
    """
    import torch

    g = torch.Generator().manual_seed(seed)
    w_gate = torch.randn(hidden, experts, generator=g) / hidden**0.5
    total = 0.0
    for _ in range(steps):
        x = torch.randn(tokens, hidden, generator=g)
        module.route(x, w_gate, k=k, capacity_factor=1.25)
        logits = (x @ w_gate).requires_grad_(True)
        mask = torch.rand(8, tokens // 8, generator=g) > 0.1
        loss = module.load_balancing_loss(logits, k, mask)
        loss.backward()
        total += float(loss.detach())
    return total
