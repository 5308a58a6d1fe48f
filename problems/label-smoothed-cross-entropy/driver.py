"""Worker-side helpers for label-smoothed-cross-entropy: run autograd next to the submission.

Tests call these as `candidate.driver.<name>(...)`; each gets the submission module first and
returns plain tensors, since autograd graphs cannot cross the process boundary. Tensors arrive
contiguous from the wire, so a non-contiguous layout is built here, in the worker.
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


def _layout(logits: Tensor, labels: Tensor, layout: str) -> tuple[Tensor, Tensor]:
    """The same values as logits (..., V) and labels (...) in another memory layout.

    "transposed": logits stored (T, B, 2V) with every other class kept (neither contiguous nor
    unit-stride in V; for (N, V) logits: column stride 2) and labels stored column-major, so
    .view(-1) / .view(-1, V) refuse both.
    """
    if layout != "transposed":
        raise ValueError(f"unknown layout {layout!r}")
    dims = list(range(labels.dim()))[::-1]
    wide = logits.new_zeros(*reversed(labels.shape), 2 * logits.shape[-1])
    wide[..., ::2] = logits.permute(*dims, labels.dim())
    laid_logits = wide.permute(*dims, labels.dim())[..., ::2]
    laid_labels = labels.permute(*dims).contiguous().permute(*dims)
    return laid_logits, laid_labels


def forward_backward_in_layout(
    module, logits: Tensor, labels: Tensor, kwargs: dict, layout: str, grad_output: Tensor | None = None
):
    """forward_backward with logits and labels laid out here (see _layout); (loss, grad, has_grad_fn, non_contiguous)."""
    logits, labels = _layout(logits, labels, layout)
    non_contiguous = not logits.is_contiguous() and (labels.dim() < 2 or not labels.is_contiguous())
    return (*forward_backward(module, logits, labels, kwargs, grad_output), non_contiguous)


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


def timing_run(module, seed: int, shape: list[int], vocab: int, micro_batches: int, kwargs: dict) -> float:
    """The timing workload, built here so no big tensor crosses the wire.

    Seeded logits (*shape, vocab) with some labels ignored: cross_entropy forward and backward,
    then accumulated_loss over `micro_batches` such batches and its backward; returns both losses summed.
    """
    import torch

    g = torch.Generator().manual_seed(seed)

    def batch():
        logits = torch.randn(*shape, vocab, generator=g).requires_grad_(True)
        labels = torch.randint(0, vocab, shape, generator=g)
        labels[torch.rand(shape, generator=g) < 0.1] = -100
        return logits, labels

    logits, labels = batch()
    loss = module.cross_entropy(logits, labels, **kwargs)
    loss.backward()
    total = float(loss.detach())
    loss = module.accumulated_loss([batch() for _ in range(micro_batches)], **kwargs)
    loss.backward()
    return total + float(loss.detach())
